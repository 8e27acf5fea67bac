using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace StableAlignment.DatasetBuilder;

/// <summary>A record file that cannot be read, with the file, the record and the reason.</summary>
public sealed class RecordFormatException(string path, int index, string reason)
    : Exception($"{path}, record {index}: {reason}");

/// <summary>Where interaction records come from: a run in the store, or an export folder in the original form.</summary>
public static class RecordSources
{
    /// <summary>The records of several sources one after another (several worlds pooled into one dataset).</summary>
    public static async IAsyncEnumerable<AlignmentRecord> Concat(IEnumerable<IAsyncEnumerable<AlignmentRecord>> sources)
    {
        foreach (var source in sources)
        {
            await foreach (var record in source)
            {
                yield return record;
            }
        }
    }

    /// <summary>A run's completed interactions, asked of memory-store (their owner) a page at a time.</summary>
    public static async IAsyncEnumerable<AlignmentRecord> FromMemoryStoreAsync(IRequestClient<ListInteractions> client, Guid runId, [EnumeratorCancellation] CancellationToken ct = default)
    {
        const int page = 200;
        for (var skip = 0; ; skip += page)
        {
            var listed = (await client.GetResponse<InteractionsListed>(new ListInteractions { RunId = runId, Skip = skip, Take = page }, ct)).Message;
            foreach (var r in listed.Records)
            {
                yield return AlignmentRecord.From(r);
            }

            if (listed.Records.Count < page || skip + page >= listed.Total)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// <c>DIR/external_memory/agent_&lt;id&gt;.jsonl</c> (or the files directly in DIR), each a JSON array of records,
    /// read one element at a time so that no file is held whole in memory.
    /// </summary>
    public static async IAsyncEnumerable<AlignmentRecord> FromExportAsync(string folder, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var memory = Path.Combine(folder, "external_memory");
        var root = Directory.Exists(memory) ? memory : folder;
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Export folder not found: {folder}");
        }

        var files = Directory.GetFiles(root, "agent_*.json*").OrderBy(f => AgentNumber(f)).ToList();
        if (files.Count == 0)
        {
            throw new FileNotFoundException($"No agent_<id>.jsonl files in {root}.");
        }

        foreach (var file in files)
        {
            await using var stream = File.OpenRead(file);
            var index = 0;
            IAsyncEnumerable<JsonElement> elements;
            elements = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, cancellationToken: ct);
            await using var e = elements.GetAsyncEnumerator(ct);
            while (true)
            {
                try
                {
                    if (!await e.MoveNextAsync())
                    {
                        break;
                    }
                }
                catch (JsonException x)
                {
                    throw new RecordFormatException(file, index, $"not a JSON array of records ({x.Message})");
                }

                AlignmentRecord record;
                try
                {
                    record = Parse(file, index, e.Current);
                }
                catch (InvalidOperationException x)
                {
                    throw new RecordFormatException(file, index, $"unreadable text ({x.Message})");
                }

                index++;
                yield return record;
            }
        }
    }

    private static int AgentNumber(string file)
    {
        var name = Path.GetFileName(file);
        var digits = new string(name.SkipWhile(c => !char.IsDigit(c)).TakeWhile(char.IsDigit).ToArray());
        return int.TryParse(digits, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue;
    }

    private static AlignmentRecord Parse(string file, int index, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new RecordFormatException(file, index, "expected a JSON object");
        }

        string Text(string name, bool required = true)
        {
            if (e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
            {
                return v.GetString()!;
            }

            return required ? throw new RecordFormatException(file, index, $"missing text field \"{name}\"") : string.Empty;
        }

        var targets = Array(e, "target_id").Select(t => Number(t) ?? -1).ToList();
        var feedback = Array(e, "feedback").Select(f => f.ValueKind == JsonValueKind.String ? f.GetString() : null).ToList();
        var ratings = Array(e, "rating").Select(r => AlignmentRecord.ValidScore(Number(r))).ToList();
        var peers = Enumerable.Range(0, Math.Max(feedback.Count, ratings.Count))
            .Select(i => new PeerNote(i < targets.Count ? targets[i] : -1, i < feedback.Count ? feedback[i] : null, i < ratings.Count ? ratings[i] : null))
            .ToList();
        return new AlignmentRecord(
            Prop(e, "agent_id") is { } agent ? Number(agent) ?? -1 : -1,
            Text("label", required: false),
            Prop(e, "iteration") is { } it ? Number(it) ?? 0 : 0,
            Text("question"),
            Text("draft_answer", required: false),
            peers,
            Text("revised_answer", required: false),
            AlignmentRecord.ValidScore(Prop(e, "gen_moral_score_before") is { } b ? Number(b) : null),
            AlignmentRecord.ValidScore(Prop(e, "gen_moral_score_after") is { } a ? Number(a) : null),
            Text("social_model", required: false) is { Length: > 0 } model ? model : "sandbox");
    }

    private static JsonElement? Prop(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v : null;

    private static IEnumerable<JsonElement> Array(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : [v] : [];

    /// <summary>An integer written as a number or a string; anything else (including 5.5) is null.</summary>
    private static int? Number(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number when v.TryGetInt32(out var n) => n,
        JsonValueKind.Number when v.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue => (int)d,
        JsonValueKind.String when int.TryParse(v.GetString()?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s) => s,
        _ => null,
    };
}
