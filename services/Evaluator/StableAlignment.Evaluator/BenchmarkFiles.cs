using System.Text.Json;
using System.Text.Json.Nodes;
using StableAlignment.Data;
using StableAlignment.Learning;

namespace StableAlignment.Evaluator;

/// <summary>
/// Benchmark files: BIG-bench JSON tasks, Anthropic HH-RLHF pairs, Moral Stories, ETHICS commonsense, TruthfulQA
/// multiple choice, dataset-builder held-out splits, question lists (plain, or FastChat's question.jsonl).
/// </summary>
public static class BenchmarkFiles
{
    /// <summary><c>{"examples": [{"input": …, "target_scores": {answer: 1 or 0, …}}]}</c> (HHH is published this way).</summary>
    public static ChoiceSet BigBench(string path)
    {
        var examples = ParseJson(path)?["examples"] as JsonArray ?? throw new BenchmarkFormatException(path, "top level", "no \"examples\" array");
        var set = new ChoiceSet([], []);
        for (var i = 0; i < examples.Count; i++)
        {
            var input = examples[i]?["input"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;
            if (input is null || examples[i]?["target_scores"] is not JsonObject scores)
            {
                set.Skip("no input or no target_scores");
                continue;
            }

            AddTargets(set, $"{i}", input, scores);
        }

        return NotEmpty(set, path, "examples");
    }

    /// <summary>
    /// JSON Lines <c>{"chosen", "rejected"}</c> (plain or gzip): the shared dialogue up to the last Assistant turn is the
    /// prompt, the two last turns the options, the chosen one correct. A few pairs of the public files diverge earlier
    /// (5 of 2,312 in harmless-base test): they are skipped and counted, since their options would be whole
    /// conversations rather than answers.
    /// </summary>
    public static ChoiceSet HhRlhf(string path)
    {
        var set = new ChoiceSet([], []);
        foreach (var (line, n) in JsonLines.Objects(path, (l, reason) => new BenchmarkFormatException(path, $"line {l}", reason)))
        {
            if (n["chosen"] is not JsonValue c || n["rejected"] is not JsonValue r || !c.TryGetValue<string>(out var chosen) || !r.TryGetValue<string>(out var rejected))
            {
                set.Skip("no chosen or rejected text");
                continue;
            }

            const string marker = "\n\nAssistant:";
            var cut = chosen.LastIndexOf(marker, StringComparison.Ordinal);
            var cutRejected = rejected.LastIndexOf(marker, StringComparison.Ordinal);
            if (cut < 0 || cutRejected < 0)
            {
                set.Skip("no Assistant turn");
                continue;
            }

            if (chosen[..cut] != rejected[..cutRejected])
            {
                set.Skip("chosen and rejected diverge before the last Assistant turn");
                continue;
            }

            var prompt = chosen[..(cut + marker.Length)];
            set.Items.Add(new ChoiceItem($"{line}", prompt, [chosen[(cut + marker.Length)..], rejected[(cutRejected + marker.Length)..]], new HashSet<int> { 0 }));
        }

        return NotEmpty(set, path);
    }

    /// <summary>
    /// Moral Stories (JSON Lines with <c>norm</c>, <c>situation</c>, <c>intention</c>, <c>moral_action</c>,
    /// <c>immoral_action</c>): given the norm, situation and intention, the moral action should be the likelier one.
    /// </summary>
    public static ChoiceSet MoralStories(string path)
    {
        var set = new ChoiceSet([], []);
        foreach (var (line, n) in JsonLines.Objects(path, (l, reason) => new BenchmarkFormatException(path, $"line {l}", reason)))
        {
            string? Text(string key) => n[key] is JsonValue v && v.TryGetValue<string>(out var s) && !string.IsNullOrWhiteSpace(s) ? s.Trim() : null;
            var (norm, situation, intention, moral, immoral) = (Text("norm"), Text("situation"), Text("intention"), Text("moral_action"), Text("immoral_action"));
            if (norm is null || situation is null || intention is null || moral is null || immoral is null)
            {
                set.Skip("a field of norm, situation, intention, moral_action, immoral_action is missing");
                continue;
            }

            var prompt = $"Norm: {norm}\nSituation: {situation}\nIntention: {intention}\nAction:";
            set.Items.Add(new ChoiceItem(Text("ID") ?? $"{line}", prompt, [" " + moral, " " + immoral], new HashSet<int> { 0 }));
        }

        return NotEmpty(set, path);
    }

    /// <summary>
    /// ETHICS commonsense (CSV with a header holding <c>label</c> and <c>input</c>; label 1 = the act is wrong): the model
    /// answers "Is this wrong?" with " yes" or " no" by likelihood.
    /// </summary>
    public static ChoiceSet EthicsCommonsense(string path)
    {
        var set = new ChoiceSet([], []);
        using var reader = new StringReader(Read(path));
        var rows = Csv.Rows(reader).ToList();
        if (rows.Count == 0)
        {
            throw new BenchmarkFormatException(path, "line 1", "empty file");
        }

        var header = rows[0].Fields;
        var (label, input) = (Array.IndexOf(header, "label"), Array.IndexOf(header, "input"));
        if (label < 0 || input < 0)
        {
            throw new BenchmarkFormatException(path, "line 1", $"the header needs \"label\" and \"input\" columns, not {string.Join(",", header)}");
        }

        foreach (var (line, fields) in rows.Skip(1))
        {
            if (fields.Length <= Math.Max(label, input) || fields[label].Trim() is not ("0" or "1") || string.IsNullOrWhiteSpace(fields[input]))
            {
                set.Skip("label not 0 or 1, or no input");
                continue;
            }

            var prompt = $"{fields[input].Trim()}\nQuestion: Is this wrong?\nAnswer:";
            set.Items.Add(new ChoiceItem($"{line}", prompt, [" no", " yes"], new HashSet<int> { fields[label].Trim() == "1" ? 1 : 0 }));
        }

        return NotEmpty(set, path);
    }

    /// <summary>
    /// TruthfulQA multiple choice (<c>mc_task.json</c>: a JSON array of <c>{question, mc1_targets: {answer: 1 or 0},
    /// mc2_targets}</c>): MC1, one true answer among the options, scored by likelihood. MC2 (<see cref="TruthfulQaMc2"/>)
    /// is scored alongside it.
    /// </summary>
    public static ChoiceSet TruthfulQa(string path) => TruthfulQaTargets(path, "mc1_targets");

    /// <summary>TruthfulQA MC2 items (<c>mc2_targets</c>: several true answers); questions without them are skipped and counted.</summary>
    public static ChoiceSet TruthfulQaMc2(string path) => TruthfulQaTargets(path, "mc2_targets");

    private static ChoiceSet TruthfulQaTargets(string path, string key)
    {
        var root = ParseJson(path) as JsonArray ?? throw new BenchmarkFormatException(path, "top level", "not a JSON array of questions");
        var set = new ChoiceSet([], []);
        for (var i = 0; i < root.Count; i++)
        {
            if (root[i]?["question"] is not JsonValue q || !q.TryGetValue<string>(out var question) || root[i]?[key] is not JsonObject targets)
            {
                set.Skip($"no question or no {key}");
                continue;
            }

            AddTargets(set, $"{i}", $"Q: {question.Trim()}\nA:", targets, prefix: " ");
        }

        return NotEmpty(set, path, "questions");
    }

    private static void AddTargets(ChoiceSet set, string id, string prompt, JsonObject scores, string prefix = "")
    {
        var options = scores.Select(kv => prefix + kv.Key).ToList();
        var values = scores.Select(kv => kv.Value is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN).ToList();
        if (options.Count < 2 || values.Any(double.IsNaN))
        {
            set.Skip("fewer than two answers, or a score that is not a number");
            return;
        }

        var correct = values.Select((score, k) => (score, k)).Where(x => x.score > 0).Select(x => x.k).ToHashSet();
        if (correct.Count == 0)
        {
            set.Skip("no answer scores above 0");
            return;
        }

        set.Items.Add(new ChoiceItem(id, prompt, options, correct));
    }

    private static JsonNode? ParseJson(string path)
    {
        try
        {
            return JsonNode.Parse(Read(path));
        }
        catch (JsonException e)
        {
            throw new BenchmarkFormatException(path, $"line {e.LineNumber + 1}", $"not valid JSON ({e.Message})");
        }
    }

    private static ChoiceSet NotEmpty(ChoiceSet set, string path, string rows = "records") =>
        set.Items.Count > 0 ? set : throw new BenchmarkFormatException(path, "whole file",
            set.Skipped.Count == 0 ? $"no {rows}" : $"no usable {rows} ({string.Join("; ", set.Skipped.Select(s => $"{s.Value} {s.Key}"))})");

    /// <summary>
    /// dataset-builder's held-out split: a dataset folder (its <c>heldout.authors.json</c>) or the file itself. Every
    /// group is returned; the evaluation skips (and counts) those that order no pair of responses.
    /// </summary>
    public static List<RatedGroup> Heldout(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, DatasetFiles.FileName(DatasetFormat.Authors, heldout: true)) : path;
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"Held-out split not found: {file}", file);
        }

        return TrainingData.Load(file);
    }

    /// <summary>Questions: one per line, or JSON Lines (question/text, FastChat's question.jsonl turns, HH-RLHF dialogues).</summary>
    public static List<string> Questions(string path) => QuestionFeed.Load(path);

    private static string Read(string path) =>
        File.Exists(path) ? string.Join('\n', JsonLines.ReadLines(path)) : throw new FileNotFoundException($"Benchmark file not found: {path}", path);
}
