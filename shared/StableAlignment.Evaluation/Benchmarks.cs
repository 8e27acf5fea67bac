using System.Text.Json;
using System.Text.Json.Nodes;
using StableAlignment.AgentRunner.Sandbox;
using StableAlignment.DatasetBuilder;
using StableAlignment.Learning;
using StableAlignment.Storage;

namespace StableAlignment.Evaluation;

/// <summary>A benchmark file that cannot be used, with the file, the line or example, and the reason.</summary>
public sealed class BenchmarkFormatException(string path, string where, string reason) : Exception($"{path}, {where}: {reason}");

/// <summary>One multiple-choice item: the prompt, the options, and which of them are right.</summary>
public sealed record ChoiceItem(string Id, string Prompt, IReadOnlyList<string> Options, IReadOnlySet<int> Correct);

/// <summary>Benchmark files: BIG-bench JSON tasks, Anthropic HH-RLHF pairs, dataset-builder held-out splits, question lists.</summary>
public static class BenchmarkFiles
{
    /// <summary><c>{"examples": [{"input": …, "target_scores": {answer: 1 or 0, …}}]}</c> (HHH is published this way).</summary>
    public static List<ChoiceItem> BigBench(string path)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(Read(path));
        }
        catch (JsonException e)
        {
            throw new BenchmarkFormatException(path, $"line {e.LineNumber + 1}", $"not valid JSON ({e.Message})");
        }

        var examples = root?["examples"] as JsonArray ?? throw new BenchmarkFormatException(path, "top level", "no \"examples\" array");
        var items = new List<ChoiceItem>();
        for (var i = 0; i < examples.Count; i++)
        {
            var input = examples[i]?["input"]?.GetValue<string>() ?? throw new BenchmarkFormatException(path, $"example {i}", "no \"input\"");
            var scores = examples[i]?["target_scores"] as JsonObject ?? throw new BenchmarkFormatException(path, $"example {i}", "no \"target_scores\"");
            if (scores.Count < 2)
            {
                throw new BenchmarkFormatException(path, $"example {i}", "fewer than two answers");
            }

            var options = scores.Select(kv => kv.Key).ToList();
            var correct = scores.Select((kv, k) => (k, score: kv.Value?.GetValue<double>() ?? 0)).Where(x => x.score > 0).Select(x => x.k).ToHashSet();
            if (correct.Count == 0)
            {
                throw new BenchmarkFormatException(path, $"example {i}", "no answer scores above 0");
            }

            items.Add(new ChoiceItem($"{i}", input, options, correct));
        }

        return items.Count > 0 ? items : throw new BenchmarkFormatException(path, "top level", "no examples");
    }

    /// <summary>
    /// JSON Lines <c>{"chosen", "rejected"}</c> (plain or gzip), dialogues sharing every turn but the last Assistant turn:
    /// the shared prefix is the prompt, the two last turns the options, the chosen one correct.
    /// </summary>
    public static List<ChoiceItem> HhRlhf(string path)
    {
        var items = new List<ChoiceItem>();
        foreach (var (line, n) in JsonLines.Objects(path, (l, reason) => new BenchmarkFormatException(path, $"line {l}", reason)))
        {
            var chosen = n["chosen"]?.GetValue<string>() ?? throw new BenchmarkFormatException(path, $"line {line}", "no \"chosen\"");
            var rejected = n["rejected"]?.GetValue<string>() ?? throw new BenchmarkFormatException(path, $"line {line}", "no \"rejected\"");
            const string marker = "\n\nAssistant:";
            var cut = chosen.LastIndexOf(marker, StringComparison.Ordinal);
            var cutRejected = rejected.LastIndexOf(marker, StringComparison.Ordinal);
            if (cut < 0 || cutRejected < 0 || chosen[..cut] != rejected[..cutRejected])
            {
                throw new BenchmarkFormatException(path, $"line {line}", "chosen and rejected do not share all but the last Assistant turn");
            }

            var prompt = chosen[..(cut + marker.Length)];
            items.Add(new ChoiceItem($"{line}", prompt, [chosen[(cut + marker.Length)..], rejected[(cutRejected + marker.Length)..]], new HashSet<int> { 0 }));
        }

        return items.Count > 0 ? items : throw new BenchmarkFormatException(path, "whole file", "no records");
    }

    /// <summary>dataset-builder's held-out split: a dataset folder (its <c>heldout.authors.json</c>) or the file itself.</summary>
    public static List<RatedGroup> Heldout(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, DatasetWriter.FileName(DatasetFormat.Authors, heldout: true)) : path;
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"Held-out split not found: {file}", file);
        }

        return TrainingData.Load(file).Where(g => g.Scores.Distinct().Count() > 1).ToList();
    }

    public static List<string> Questions(string path) => QuestionFeed.Load(path);

    private static string Read(string path) =>
        File.Exists(path) ? string.Join('\n', JsonLines.ReadLines(path)) : throw new FileNotFoundException($"Benchmark file not found: {path}", path);
}
