using System.Text.Json.Nodes;
using StableAlignment.Contracts;
using StableAlignment.Primitives;

namespace StableAlignment.Data;

/// <summary>The labelled prior: JSON Lines <c>{"question", "response", "morality_label"}</c>, label good/bad (or aligned/misaligned, 1/0, true/false).</summary>
public static class PriorFile
{
    public static List<PriorEntry> Load(string path, bool keepPartial = false, Action<string>? partial = null)
    {
        var entries = new List<PriorEntry>();
        foreach (var (lineNumber, o) in JsonLines.Objects(path, (line, reason) => new FeedFormatException(path, line, reason), keepPartial, partial))
        {
            var question = Text(o, "question") ?? throw new FeedFormatException(path, lineNumber, "missing \"question\"");
            var response = Text(o, "response") ?? throw new FeedFormatException(path, lineNumber, "missing \"response\"");
            var label = o["morality_label"]?.ToJsonString().Trim('"').ToLowerInvariant()
                ?? throw new FeedFormatException(path, lineNumber, "missing \"morality_label\"");
            bool aligned = label switch
            {
                "good" or "aligned" or "moral" or "1" or "true" => true,
                "bad" or "misaligned" or "immoral" or "0" or "-1" or "false" => false,
                _ => throw new FeedFormatException(path, lineNumber, $"morality_label '{label}' is neither good nor bad"),
            };
            entries.Add(new PriorEntry { Question = question, Response = response, Aligned = aligned });
        }

        // A prior file that holds nothing would silently give every agent no seed memories.
        return entries.Count > 0 ? entries : throw new FeedFormatException(path, 0, "the prior holds no entries");
    }

    private static string? Text(JsonObject o, string field) =>
        o[field] is JsonValue v && v.TryGetValue<string>(out var s) && s.Trim().Length > 0 ? s.Trim() : null;
}
