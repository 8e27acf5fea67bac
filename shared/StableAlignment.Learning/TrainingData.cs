using System.Text.Json;
using System.Text.Json.Nodes;
using StableAlignment.DatasetBuilder;
using StableAlignment.Storage;

namespace StableAlignment.Learning;

/// <summary>
/// Training data from dataset-builder's files: the <c>authors</c> JSON array of <c>{query, responses, scores}</c>, or
/// <c>alpaca</c> JSON Lines (grouped here by prompt). A dataset folder means its <c>train.authors.json</c>.
/// </summary>
public static class TrainingData
{
    public static List<RatedGroup> Load(string path)
    {
        if (Directory.Exists(path))
        {
            path = Path.Combine(path, DatasetWriter.FileName(DatasetFormat.Authors, heldout: false));
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Training data not found: {path}", path);
        }

        using var reader = new StreamReader(path);
        var first = (char)reader.Peek();
        while (char.IsWhiteSpace(first) && reader.Read() >= 0)
        {
            first = (char)reader.Peek();
        }

        return first == '[' ? Authors(path) : Alpaca(path);
    }

    private static List<RatedGroup> Authors(string path)
    {
        var groups = new List<RatedGroup>();
        var index = 0;
        foreach (var node in JsonNode.Parse(File.ReadAllText(path))!.AsArray())
        {
            var query = node?["query"]?.GetValue<string>() ?? throw new InvalidDataException($"{path}, group {index}: no \"query\".");
            var responses = node["responses"]?.AsArray().Select(r => r!.GetValue<string>()).ToList() ?? [];
            var scores = node["scores"]?.AsArray().Select(s => s!.GetValue<int>()).ToList() ?? [];
            if (responses.Count == 0 || responses.Count != scores.Count)
            {
                throw new InvalidDataException($"{path}, group {index}: {responses.Count} responses and {scores.Count} scores.");
            }

            groups.Add(new RatedGroup(query, responses, scores));
            index++;
        }

        return groups;
    }

    private static List<RatedGroup> Alpaca(string path)
    {
        var byQuery = new Dictionary<string, (List<string> Responses, List<int> Scores)>(StringComparer.Ordinal);
        foreach (var (line, n) in JsonLines.Objects(path, (l, reason) => new InvalidDataException($"{path}, line {l}: {reason}")))
        {
            var instruction = n["instruction"]?.GetValue<string>() ?? throw new InvalidDataException($"{path}, line {line}: no \"instruction\".");
            var sample = new Sample(SampleType.Imitation, instruction, n["input"]?.GetValue<string>() ?? string.Empty,
                n["output"]?.GetValue<string>() ?? string.Empty, n["rating"]?.GetValue<int>() ?? throw new InvalidDataException($"{path}, line {line}: no \"rating\"."), "");
            if (!byQuery.TryGetValue(sample.Query, out var g))
            {
                g = ([], []);
                byQuery[sample.Query] = g;
            }

            g.Responses.Add(sample.Output);
            g.Scores.Add(sample.Rating);
        }

        return [.. byQuery.Select(kv => new RatedGroup(kv.Key, kv.Value.Responses, kv.Value.Scores))];
    }
}
