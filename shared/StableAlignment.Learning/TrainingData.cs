using System.Text.Json;
using System.Text.Json.Nodes;
using StableAlignment.Contracts;
using StableAlignment.Data;
using StableAlignment.Primitives;

namespace StableAlignment.Learning;

/// <summary>
/// Training data from files: dataset-builder's <c>authors</c> JSON array of <c>{query, responses, scores}</c>;
/// <c>alpaca</c> JSON Lines (<c>{instruction, input, output, rating}</c>, grouped here by prompt); or Anthropic HH-RLHF
/// JSON Lines (<c>{chosen, rejected}</c>), whose chosen dialogues are SFT examples (prompt: the dialogue up to the last
/// Assistant turn). A dataset folder means its <c>train.authors.json</c>; JSON Lines may be gzip-compressed. Ratings must
/// be integers from 1 to 7: anything else fails with the file, the line or group, and the reason. With
/// <paramref name="allowUnrated"/> (SFT), Alpaca records without a rating and HH-RLHF dialogues become one-response
/// groups of their own.
/// </summary>
public static class TrainingData
{
    public static List<RatedGroup> Load(string path, bool allowUnrated = false)
    {
        if (Directory.Exists(path))
        {
            path = Path.Combine(path, DatasetFiles.Training);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Training data not found: {path}", path);
        }

        using (var reader = new StreamReader(path))
        {
            var first = (char)reader.Peek();
            while (char.IsWhiteSpace(first) && reader.Read() >= 0)
            {
                first = (char)reader.Peek();
            }

            if (first == '[')
            {
                return NotEmpty(path, Authors(path));
            }
        }

        return NotEmpty(path, JsonLinesFile(path, allowUnrated));
    }

    private static List<RatedGroup> NotEmpty(string path, List<RatedGroup> groups) =>
        groups.Count > 0 ? groups : throw new InvalidDataException($"{path}: the file holds no group to train on.");

    /// <summary>Runs <paramref name="read"/>; a malformed JSON value (wrong type, duplicate key, bad text) becomes an error naming <paramref name="where"/>.</summary>
    private static T Guard<T>(string where, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new InvalidDataException($"{where}: {e.Message}", e);
        }
    }

    private static List<RatedGroup> Authors(string path)
    {
        var groups = new List<RatedGroup>();
        var index = 0;
        var root = Guard(path, () => JsonNode.Parse(JsonLines.ReadAllText(path)) as JsonArray ?? throw new InvalidDataException($"{path}: not a JSON array of groups."));
        foreach (var node in root)
        {
            var where = $"{path}, group {index}";
            groups.Add(Guard(where, () => Group(node, where)));
            index++;
        }

        return groups;
    }

    private static RatedGroup Group(JsonNode? node, string where)
    {
        var query = node?["query"]?.GetValue<string>() ?? throw new InvalidDataException($"{where}: no \"query\".");
        var responses = node["responses"]?.AsArray().Select(r => r!.GetValue<string>()).ToList() ?? [];
        var scores = node["scores"]?.AsArray().Select(s => ParseRating(s, where)).ToList() ?? [];
        if (responses.Count == 0 || responses.Count != scores.Count)
        {
            throw new InvalidDataException($"{where}: {responses.Count} responses and {scores.Count} scores.");
        }

        return new RatedGroup(query, responses, scores);
    }

    private static List<RatedGroup> JsonLinesFile(string path, bool allowUnrated)
    {
        var byQuery = new Dictionary<string, (List<string> Responses, List<int> Scores)>(StringComparer.Ordinal);
        var single = new List<RatedGroup>();
        foreach (var (line, n) in JsonLines.Objects(path, (l, reason) => new InvalidDataException($"{path}, line {l}: {reason}")))
        {
            var where = $"{path}, line {line}";
            var (unrated, sample) = Guard(where, () => Record(n, where, allowUnrated));
            if (unrated is not null)
            {
                single.Add(unrated);
            }
            else if (sample is not null)
            {
                if (!byQuery.TryGetValue(sample.Query, out var g))
                {
                    g = ([], []);
                    byQuery[sample.Query] = g;
                }

                g.Responses.Add(sample.Output);
                g.Scores.Add(sample.Rating);
            }
        }

        return [.. byQuery.Select(kv => new RatedGroup(kv.Key, kv.Value.Responses, kv.Value.Scores)), .. single];
    }

    /// <summary>One JSON Lines record: an unrated one-response group (SFT data), a rated sample, or neither (an empty dialogue).</summary>
    private sealed record RatedSample(string Query, string Output, int Rating);

    private static (RatedGroup? Unrated, RatedSample? Rated) Record(JsonObject n, string where, bool allowUnrated)
    {
        if (n["chosen"] is JsonValue chosen)
        {
            if (!allowUnrated)
            {
                throw new InvalidDataException($"{where}: an HH-RLHF dialogue has no rating; such files train with --loss sft only.");
            }

            var dialogue = chosen.GetValue<string>();
            var cut = dialogue.LastIndexOf("\n\nAssistant:", StringComparison.Ordinal);
            if (cut < 0)
            {
                throw new InvalidDataException($"{where}: the chosen dialogue has no \"\\n\\nAssistant:\" turn.");
            }

            var prompt = dialogue[..(cut + "\n\nAssistant:".Length)];
            var answer = dialogue[prompt.Length..].Trim();
            return (answer.Length > 0 ? new RatedGroup(prompt, [answer], [Rating.MaxScore]) : null, null);
        }

        var instruction = n["instruction"]?.GetValue<string>() ?? throw new InvalidDataException($"{where}: no \"instruction\" (nor HH-RLHF \"chosen\").");
        var input = n["input"]?.GetValue<string>() ?? string.Empty;
        var output = n["output"]?.GetValue<string>() ?? throw new InvalidDataException($"{where}: no \"output\".");
        if (n["rating"] is null)
        {
            return allowUnrated
                ? (new RatedGroup(AlpacaPrompt.Query(instruction, input), [output], [Rating.MaxScore]), null)
                : throw new InvalidDataException($"{where}: no \"rating\"; unrated records train with --loss sft only.");
        }

        return (null, new RatedSample(AlpacaPrompt.Query(instruction, input), output, ParseRating(n["rating"], where)));
    }

    /// <summary>An integer rating from 1 to 7; the original release's −1 and 8 (and anything else) are refused.</summary>
    private static int ParseRating(JsonNode? node, string where)
    {
        if (node is JsonValue v && v.TryGetValue<int>(out var rating) && rating is >= Rating.MinScore and <= Rating.MaxScore)
        {
            return rating;
        }

        if (node is JsonValue d && d.TryGetValue<double>(out var number) && number == Math.Floor(number) && number is >= Rating.MinScore and <= Rating.MaxScore)
        {
            return (int)number;
        }

        throw new InvalidDataException($"{where}: rating {node?.ToJsonString() ?? "null"} is not an integer from {Rating.MinScore} to {Rating.MaxScore}.");
    }
}
