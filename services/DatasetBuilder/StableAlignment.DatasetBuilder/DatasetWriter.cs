using System.Text.Encodings.Web;
using System.Text.Json;
using StableAlignment.Data;

namespace StableAlignment.DatasetBuilder;

/// <summary>Streams groups into one file per split (<c>train</c>, <c>heldout</c>) of a format.</summary>
public sealed class DatasetWriter : IAsyncDisposable
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly DatasetFormat _format;
    private readonly string _folder;
    private readonly Dictionary<bool, (Stream Stream, Utf8JsonWriter Json)> _open = [];

    public DatasetWriter(string folder, DatasetFormat format)
    {
        _folder = Directory.CreateDirectory(folder).FullName;
        _format = format;
    }

    public static string Extension(DatasetFormat format) => DatasetFiles.Extension(format);

    public static string FileName(DatasetFormat format, bool heldout) => DatasetFiles.FileName(format, heldout);

    /// <summary>Lines (or array elements) written per split.</summary>
    public Dictionary<string, long> Written { get; } = new() { ["train"] = 0, ["heldout"] = 0 };

    public async Task WriteAsync(SampleGroup group, CancellationToken ct = default)
    {
        var (stream, json) = Open(group.Heldout);
        switch (_format)
        {
            case DatasetFormat.Authors:
                json.WriteStartObject();
                json.WriteString("query", group.Query);
                WriteArray(json, "responses", group.Responses, (w, v) => w.WriteStringValue(v));
                WriteArray(json, "scores", group.Scores, (w, v) => w.WriteNumberValue(v));
                WriteArray(json, "models", group.Models, (w, v) => w.WriteStringValue(v));
                json.WriteEndObject();
                Count(group.Heldout);
                break;
            case DatasetFormat.Alpaca:
                foreach (var s in group.Samples)
                {
                    Line(stream, json, w =>
                    {
                        w.WriteString("instruction", s.Instruction);
                        w.WriteString("input", s.Input);
                        w.WriteString("output", s.Output);
                        w.WriteNumber("rating", s.Rating);
                        w.WriteString("type", Sample.TypeName(s.Type));
                        w.WriteString("model", s.Model);
                    });
                    Count(group.Heldout);
                }

                break;
            default:
                foreach (var chosen in group.Samples)
                {
                    foreach (var rejected in group.Samples.Where(r => r.Rating < chosen.Rating))
                    {
                        Line(stream, json, w =>
                        {
                            w.WriteString("prompt", group.Query);
                            w.WriteString("chosen", chosen.Output);
                            w.WriteString("rejected", rejected.Output);
                            w.WriteNumber("score_chosen", chosen.Rating);
                            w.WriteNumber("score_rejected", rejected.Rating);
                        });
                        Count(group.Heldout);
                    }
                }

                break;
        }

        if (json.BytesPending > 1 << 16)
        {
            await json.FlushAsync(ct);
        }
    }

    private void Count(bool heldout) => Written[heldout ? "heldout" : "train"]++;

    private static void WriteArray<T>(Utf8JsonWriter json, string name, IEnumerable<T> values, Action<Utf8JsonWriter, T> write)
    {
        json.WriteStartArray(name);
        foreach (var v in values)
        {
            write(json, v);
        }

        json.WriteEndArray();
    }

    private static void Line(Stream stream, Utf8JsonWriter json, Action<Utf8JsonWriter> body)
    {
        json.WriteStartObject();
        body(json);
        json.WriteEndObject();
        json.Flush();
        json.Reset(stream);
        stream.WriteByte((byte)'\n');
    }

    private (Stream Stream, Utf8JsonWriter Json) Open(bool heldout)
    {
        if (!_open.TryGetValue(heldout, out var file))
        {
            var stream = new BufferedStream(File.Create(Path.Combine(_folder, FileName(_format, heldout))), 1 << 16);
            var json = new Utf8JsonWriter(stream, Options);
            if (_format == DatasetFormat.Authors)
            {
                json.WriteStartArray();
            }

            file = (stream, json);
            _open[heldout] = file;
        }

        return file;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (stream, json) in _open.Values)
        {
            if (_format == DatasetFormat.Authors)
            {
                json.WriteEndArray();
            }

            await json.FlushAsync();
            await json.DisposeAsync();
            await stream.DisposeAsync();
        }

        _open.Clear();
    }
}
