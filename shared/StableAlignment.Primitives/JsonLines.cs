using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableAlignment.Primitives;

/// <summary>
/// Reading the line-oriented files the project takes in (question feeds, priors, HH-RLHF pairs, Alpaca data):
/// plain or gzip, blank lines skipped, each JSON line an object, and every error naming its line.
/// </summary>
public static class JsonLines
{
    /// <summary>
    /// Lines of a plain or gzip file (recognised by its magic bytes), decoded as strict UTF-8: invalid bytes are an
    /// error naming the line, never silently replaced. A gzip file whose data ends before its recorded size (a
    /// truncated download) is an error after its last complete line, unless <paramref name="keepPartial"/>, which
    /// keeps what was read and reports it through <paramref name="partial"/>.
    /// </summary>
    // Longer than most on purpose: one iterator over the decoder, the gzip stream and the line count, whose error paths
    // share those locals.
    public static IEnumerable<string> ReadLines(string path, bool keepPartial = false, Action<string>? partial = null)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"File not found: {path}", path);
        }

        using var file = File.OpenRead(path);
        var gzip = file.Length >= 2 && file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        using var counted = gzip ? new CountingStream(new GZipStream(file, CompressionMode.Decompress, leaveOpen: true)) : null;
        var lines = new ByteLines(counted ?? (Stream)file);
        var line = 0;
        string? previous = null;
        while (true)
        {
            string? text;
            try
            {
                text = lines.Next();
            }
            catch (DecoderFallbackException)
            {
                throw new InvalidDataException($"{path}, line {line + 1}: not valid UTF-8 text.");
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: the gzip data is corrupt after line {line} ({e.Message}).");
            }

            if (text is null)
            {
                break;
            }

            // A line is handed out only once the next one (or the end) is read, so that a truncated last line never is.
            if (previous is not null)
            {
                yield return previous;
            }

            previous = text;
            line++;
        }

        if (gzip && TruncatedGzip(file, counted!.Count, counted.Crc) is { } problem)
        {
            if (!keepPartial)
            {
                throw new InvalidDataException($"{path}: {problem}; {Math.Max(0, line - 1)} complete lines were read (--keep-partial keeps them).");
            }

            partial?.Invoke($"{path}: {problem}; keeping the {Math.Max(0, line - 1)} complete lines read.");
            yield break;
        }

        if (previous is not null)
        {
            yield return previous;
        }
    }

    /// <summary>A JSON file as <typeparamref name="T"/>; a missing, empty, malformed or mistyped file is an error naming it.</summary>
    public static T ReadJson<T>(string path, JsonSerializerOptions? options = null)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(ReadAllText(path), options) ?? throw new InvalidDataException($"{path}: the file holds null.");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: not a readable {typeof(T).Name} ({e.Message})", e);
        }
    }

    /// <summary>A whole text file (plain or gzip) as strict UTF-8: invalid bytes are an error naming the line.</summary>
    public static string ReadAllText(string path) => string.Join('\n', ReadLines(path));

    /// <summary>Null when the decompressed data matches the gzip trailer (CRC-32 and size modulo 2³²), otherwise what is wrong.</summary>
    private static string? TruncatedGzip(FileStream file, long decompressed, uint crc)
    {
        if (file.Length < 18)
        {
            return "the gzip file is truncated (shorter than a gzip header and trailer)";
        }

        Span<byte> trailer = stackalloc byte[8];
        file.Position = file.Length - 8;
        file.ReadExactly(trailer);
        var recordedCrc = BitConverter.ToUInt32(trailer[..4]);
        var recordedSize = BitConverter.ToUInt32(trailer[4..]);
        if (recordedSize != (uint)decompressed)
        {
            return $"the gzip data ends after {decompressed} bytes but its trailer records {recordedSize} (truncated or corrupt; a multi-member archive must be recompressed as one)";
        }

        return recordedCrc == crc ? null : "the gzip data does not match its CRC-32 checksum (corrupt)";
    }

    /// <summary>Splits a byte stream at '\n' (dropping a '\r' before it and a leading BOM) and decodes each line as strict UTF-8.</summary>
    private sealed class ByteLines(Stream stream)
    {
        private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly MemoryStream _line = new();
        private int _position;
        private int _length;
        private bool _first = true;
        private bool _ended;

        public string? Next()
        {
            if (_ended)
            {
                return null;
            }

            _line.SetLength(0);
            while (true)
            {
                if (_position == _length)
                {
                    _length = stream.Read(_buffer, 0, _buffer.Length);
                    _position = 0;
                    if (_length == 0)
                    {
                        _ended = true;
                        return _line.Length > 0 ? Decode() : null;
                    }
                }

                var newline = Array.IndexOf(_buffer, (byte)'\n', _position, _length - _position);
                var end = newline < 0 ? _length : newline;
                _line.Write(_buffer, _position, end - _position);
                _position = newline < 0 ? _length : newline + 1;
                if (newline >= 0)
                {
                    return Decode();
                }
            }
        }

        private string Decode()
        {
            var bytes = _line.GetBuffer().AsSpan(0, (int)_line.Length);
            if (_first && bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                bytes = bytes[3..];
            }

            _first = false;
            if (bytes.Length > 0 && bytes[^1] == (byte)'\r')
            {
                bytes = bytes[..^1];
            }

            return Strict.GetString(bytes);
        }
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        private readonly System.IO.Hashing.Crc32 _crc = new();

        public long Count { get; private set; }

        public uint Crc => _crc.GetCurrentHashAsUInt32();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            Count += n;
            _crc.Append(buffer.AsSpan(offset, n));
            return n;
        }

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            Count += n;
            _crc.Append(buffer[..n]);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>One line as a JSON object; otherwise <paramref name="error"/>(line, reason) is thrown.</summary>
    public static JsonObject ParseObject(string text, int line, Func<int, string, Exception> error)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw error(line, $"not valid JSON ({e.Message})");
        }

        return node as JsonObject ?? throw error(line, "expected a JSON object");
    }

    /// <summary>The non-blank lines of a JSON Lines file (plain or gzip) as objects, with their line numbers.</summary>
    public static IEnumerable<(int Line, JsonObject Value)> Objects(string path, Func<int, string, Exception> error, bool keepPartial = false, Action<string>? partial = null)
    {
        var line = 0;
        foreach (var text in ReadLines(path, keepPartial, partial))
        {
            line++;
            if (text.Trim().Length > 0)
            {
                yield return (line, ParseObject(text, line, error));
            }
        }
    }
}
