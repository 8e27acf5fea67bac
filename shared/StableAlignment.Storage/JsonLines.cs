using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableAlignment.Storage;

/// <summary>
/// Reading the line-oriented files the project takes in (question feeds, priors, HH-RLHF pairs, Alpaca data):
/// plain or gzip, blank lines skipped, each JSON line an object, and every error naming its line.
/// </summary>
public static class JsonLines
{
    /// <summary>Lines of a plain or gzip file (recognised by its magic bytes).</summary>
    public static IEnumerable<string> ReadLines(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"File not found: {path}", path);
        }

        using var file = File.OpenRead(path);
        var gzip = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        using var stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
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
    public static IEnumerable<(int Line, JsonObject Value)> Objects(string path, Func<int, string, Exception> error)
    {
        var line = 0;
        foreach (var text in ReadLines(path))
        {
            line++;
            if (text.Trim().Length > 0)
            {
                yield return (line, ParseObject(text, line, error));
            }
        }
    }
}
