using System.Text.Json.Nodes;
using StableAlignment.Learning;
using StableAlignment.Models;

namespace StableAlignment.Evaluator;

/// <summary>What to evaluate and how.</summary>
public sealed record EvaluationOptions
{
    /// <summary><c>kind:path</c>: hh-rlhf, bigbench, heldout, judge (a question file), pairwise (a question file; needs a baseline).</summary>
    public required IReadOnlyList<string> Benchmarks { get; init; }

    /// <summary>Also run the multiple-choice and generation suites with jailbreak-style wrappers, and report the drop.</summary>
    public bool Adversarial { get; init; }

    public IReadOnlyList<string> Wrappers { get; init; } = [];

    public int Repeats { get; init; } = 1;

    public GenerationOptions Generation { get; init; } = new();

    public int MaxLength { get; init; } = 256;

    public int? Limit { get; init; }

    /// <summary>The judge is the observer that rated the data (allowed explicitly): the report marks it.</summary>
    public bool SelfJudge { get; init; }

    /// <summary>
    /// Why judging these benchmarks would be the observer judging itself (<see cref="ModelsOptions.SelfJudge"/>), or null
    /// when none needs a judge or the judge is another model. Every caller refuses it unless allowed.
    /// </summary>
    public static string? SelfJudgeOf(IEnumerable<string> benchmarks, ModelsOptions? models) =>
        benchmarks.Any(b => BenchmarkSpec.Kinds.GetValueOrDefault(b.Split(':')[0])?.NeedsJudge == true) ? models?.SelfJudge() : null;
}

/// <summary>One benchmark's result: the headline estimate and the other numbers.</summary>
public sealed record BenchmarkScore(string Metric, Estimate Score, Dictionary<string, double> Details);

public sealed record EvaluationReport
{
    public required string CheckpointId { get; init; }
    public string? Location { get; init; }
    public int Step { get; init; }
    public string? JudgeModel { get; init; }
    /// <summary>The judge was the observer that rated the data: its scores are agreement with itself, not an independent view.</summary>
    public bool SelfJudged { get; init; }
    public required Dictionary<string, BenchmarkScore> Scores { get; init; }
    /// <summary>Benchmarks of the call that could not be scored, with the reason: one failing never loses the others.</summary>
    public Dictionary<string, string> Failures { get; init; } = [];
    public DateTime CreatedAt { get; init; }
}

/// <summary>
/// Runs a suite on one model. Every per-sample result is appended to <c>OUT/samples/&lt;benchmark&gt;.jsonl</c> as
/// it is computed and read back first, so an interrupted evaluation continues where it stopped.
/// </summary>
public sealed class EvaluationRunner(EvaluationOptions options, IModelCatalog? judges = null)
{
    /// <summary>What <c>heldout:</c> measures: the data's ratings are the observer's, so agreement is all it can show.</summary>
    public const string HeldoutMetric = "pairwise agreement with the observer's labels";

    /// <summary>
    /// Reads every benchmark file of <paramref name="specs"/> once, before anything is written: a missing or malformed
    /// file fails here, naming it, instead of after a report folder was started.
    /// </summary>
    public static void Preflight(IEnumerable<string> specs)
    {
        foreach (var spec in specs)
        {
            var benchmark = BenchmarkSpec.Parse(spec);
            _ = benchmark.Benchmark.CountItems(benchmark.Path);
        }
    }

    /// <summary>What this runner evaluates with.</summary>
    public EvaluationOptions Options => options;

    public async Task<EvaluationReport> RunAsync(
        string checkpointId, LlamaForCausalLM? model, ITokenizer? tokenizer, IAnswerer? answerer, IAnswerer? baseline, string outDir,
        int step = 0, string? location = null, IProgress<string>? progress = null, CancellationToken ct = default)
    {
        Directory.CreateDirectory(Path.Combine(outDir, "samples"));
        var scores = new Dictionary<string, BenchmarkScore>();
        var failures = new Dictionary<string, string>();
        string? judgeModel = null;
        foreach (var spec in options.Benchmarks.Select(BenchmarkSpec.Parse))
        {
            var name = spec.Name;
            progress?.Report(name);
            try
            {
                var run = new BenchmarkRun(spec, name, scores, model, tokenizer, answerer, baseline, outDir);
                judgeModel = await spec.Benchmark.ScoreAsync(this, run, ct) ?? judgeModel;
            }
            // A damaged input of the user's (a benchmark or per-sample file) still stops the call as bad input: the
            // per-sample files keep every result scored so far, so the run continues once the file is fixed. Anything
            // else that stops one benchmark (a model or judge that fails, nothing left to score) is recorded for it.
            catch (Exception e) when (e is not (OperationCanceledException or InvalidDataException or BenchmarkFormatException or FileNotFoundException
                or DirectoryNotFoundException) && !ct.IsCancellationRequested)
            {
                failures[name] = e.Message;
                foreach (var partial in scores.Keys.Where(k => k == name || k.StartsWith(name + "+", StringComparison.Ordinal) || k.StartsWith(name + "-", StringComparison.Ordinal)).ToList())
                {
                    scores.Remove(partial);
                }
            }

            // A benchmark with nothing it could score has no number to report (and NaN has no JSON form).
            foreach (var (key, score) in scores.Where(kv => double.IsNaN(kv.Value.Score.Value)).ToList())
            {
                scores.Remove(key);
                failures[key] = "no item could be scored" + (score.Details.Count > 0
                    ? $" ({string.Join(", ", score.Details.Where(d => d.Key.StartsWith("skipped", StringComparison.Ordinal)).Select(d => $"{d.Key} {d.Value}"))})" : "");
            }
        }

        var report = new EvaluationReport
        {
            CheckpointId = checkpointId, Location = location, Step = step, JudgeModel = judgeModel, SelfJudged = judgeModel is not null && options.SelfJudge,
            Scores = scores, Failures = failures, CreatedAt = DateTime.UtcNow,
        };
        Reports.Write(report, outDir);
        return report;
    }

    /// <summary>The Judge role's model.</summary>
    internal ChatModel JudgeModel() =>
        (judges ?? throw new InvalidOperationException("Judge benchmarks need a judge model: configure the Judge role (--endpoint/--model).")).Chat(ModelRole.Judge);

    internal List<T> Limit<T>(List<T> items) => options.Limit is { } n ? [.. items.Take(n)] : items;

    internal IEnumerable<(string Wrapper, int Index)> AdversarialWrappers() =>
        options.Adversarial ? options.Wrappers.Select((w, i) => (w, i + 1)) : [];

    /// <summary>Adds "<name>+adv" (mean over wrappers) and the drop from the clean score.</summary>
    internal static void AddDrop(Dictionary<string, BenchmarkScore> scores, string name)
    {
        var wrapped = scores.Where(kv => kv.Key.StartsWith(name + "+adv", StringComparison.Ordinal)).Select(kv => kv.Value.Score.Value).ToList();
        if (wrapped.Count > 0)
        {
            scores[name].Details["adversarial_mean"] = wrapped.Average();
            scores[name].Details["adversarial_drop"] = scores[name].Score.Value - wrapped.Average();
        }
    }

    internal async Task<BenchmarkScore> ChoiceAsync(string name, IReadOnlyList<ChoiceItem> items, LlamaForCausalLM model, ITokenizer tokenizer, string outDir, CancellationToken ct)
    {
        var cache = await SampleCache.OpenAsync(outDir, name, ct);
        foreach (var item in items.Where(i => !cache.Has(i.Id)))
        {
            ct.ThrowIfCancellationRequested();
            var nll = Likelihood.Nll(model, tokenizer, item.Prompt, item.Options, options.MaxLength);
            var pick = Array.IndexOf(nll, nll.Min());
            await cache.AddAsync(item.Id, new JsonObject { ["nll"] = new JsonArray([.. nll.Select(v => (JsonNode)v)]), ["pick"] = pick, ["correct"] = item.Correct.Contains(pick) }, ct);
        }

        var correct = items.Count(i => cache.Get(i.Id)!["correct"]!.GetValue<bool>());
        return new BenchmarkScore("accuracy", Estimate.Proportion(correct, items.Count), []);
    }

    /// <summary>
    /// TruthfulQA MC2: the probability mass the model puts on the true answers, normalised over all the item's answers
    /// (whole-answer probabilities, from summed log-likelihoods), averaged over items.
    /// </summary>
    internal async Task<BenchmarkScore> Mc2Async(string name, IReadOnlyList<ChoiceItem> items, LlamaForCausalLM model, ITokenizer tokenizer, string outDir, CancellationToken ct)
    {
        var cache = await SampleCache.OpenAsync(outDir, name, ct);
        foreach (var item in items.Where(i => !cache.Has(i.Id)))
        {
            ct.ThrowIfCancellationRequested();
            var (_, sum) = Likelihood.Score(model, tokenizer, item.Prompt, item.Options, options.MaxLength);
            var least = sum.Min();
            var p = sum.Select(s => Math.Exp(least - s)).ToArray();
            var mass = item.Correct.Sum(k => p[k]) / p.Sum();
            await cache.AddAsync(item.Id, new JsonObject { ["nll_sum"] = new JsonArray([.. sum.Select(v => (JsonNode)v)]), ["true_mass"] = mass }, ct);
        }

        return new BenchmarkScore("normalised probability of the true answers", Estimate.Mean([.. items.Select(i => cache.Get(i.Id)!["true_mass"]!.GetValue<double>())]), []);
    }

    /// <summary>
    /// How often the model's likelihood orders two responses of a held-out group as the data's ratings do. The ratings
    /// are the observers' who rated the run, so this is agreement with the observer's labels, not accuracy against a
    /// truth. A group with one response, or with every response rated alike, orders nothing: it is skipped and counted.
    /// </summary>
    internal async Task<BenchmarkScore> HeldoutAsync(string name, IReadOnlyList<RatedGroup> all, LlamaForCausalLM model, ITokenizer tokenizer, string outDir, CancellationToken ct)
    {
        var oneResponse = all.Count(g => g.Responses.Count < 2);
        var alike = all.Count(g => g.Responses.Count >= 2 && g.Scores.Distinct().Count() == 1);
        // Samples keep the group's index in the file, so that an interrupted evaluation continues whatever is skipped.
        var groups = all.Select((group, index) => (Id: $"{index}", Group: group))
            .Where(g => g.Group.Responses.Count >= 2 && g.Group.Scores.Distinct().Count() > 1).ToList();
        var cache = await SampleCache.OpenAsync(outDir, name, ct);
        foreach (var (id, group) in groups.Where(g => !cache.Has(g.Id)))
        {
            ct.ThrowIfCancellationRequested();
            var nll = Likelihood.Nll(model, tokenizer, group.Query, group.Responses, options.MaxLength);
            await cache.AddAsync(id, new JsonObject { ["nll"] = new JsonArray([.. nll.Select(v => (JsonNode)v)]), ["scores"] = new JsonArray([.. group.Scores.Select(s => (JsonNode)s)]) }, ct);
        }

        int pairs = 0, right = 0;
        var taus = new List<double>();
        foreach (var (id, group) in groups)
        {
            var nll = cache.Get(id)!["nll"]!.AsArray().Select(v => v!.GetValue<double>()).ToList();
            var ratings = group.Scores.Select(s => (double)s).ToList();
            for (var i = 0; i < nll.Count; i++)
            {
                for (var j = 0; j < nll.Count; j++)
                {
                    if (ratings[i] > ratings[j])
                    {
                        pairs++;
                        right += nll[i] < nll[j] ? 1 : 0;
                    }
                }
            }

            var tau = Kendall.TauB([.. nll.Select(v => -v)], ratings);
            if (!double.IsNaN(tau))
            {
                taus.Add(tau);
            }
        }

        var kendall = Estimate.Mean(taus);
        var details = new Dictionary<string, double> { ["groups"] = groups.Count };
        if (taus.Count > 0)
        {
            (details["kendall_tau"], details["kendall_tau_low"], details["kendall_tau_high"]) = (kendall.Value, kendall.Low, kendall.High);
        }

        if (oneResponse > 0)
        {
            details["skipped: one response"] = oneResponse;
        }

        if (alike > 0)
        {
            details["skipped: every response rated alike"] = alike;
        }

        return new BenchmarkScore(HeldoutMetric, Estimate.Proportion(right, pairs), details);
    }

    internal async Task<BenchmarkScore> GradeAsync(string name, IReadOnlyList<string> questions, IAnswerer answerer, ChatModel judge, string outDir, CancellationToken ct)
    {
        var cache = await SampleCache.OpenAsync(outDir, name, ct);
        for (var q = 0; q < questions.Count; q++)
        {
            for (var r = 0; r < options.Repeats; r++)
            {
                var id = $"{q}/{r}";
                if (cache.Has(id))
                {
                    continue;
                }

                var (answer, tokens) = await answerer.AnswerAsync(questions[q], r, ct);
                var reply = await judge.CompleteAsync(Judge.Fill(Judge.GradeTemplate, ("question", questions[q]), ("answer", answer)), ct);
                await cache.AddAsync(id, new JsonObject { ["question"] = questions[q], ["answer"] = answer, ["tokens"] = tokens, ["judge"] = reply, ["grade"] = Judge.ParseGrade(reply) }, ct);
            }
        }

        var grades = cache.All().Select(n => n["grade"]?.GetValue<int?>()).ToList();
        var valid = grades.OfType<int>().Select(g => (double)g).ToList();
        return new BenchmarkScore("judge score (1-10)", Estimate.Mean(valid), new() { ["invalid"] = grades.Count - valid.Count, ["repeats"] = options.Repeats });
    }

    internal async Task<BenchmarkScore> PairwiseAsync(string name, IReadOnlyList<string> questions, IAnswerer model, IAnswerer baseline, ChatModel judge, string outDir, CancellationToken ct)
    {
        var cache = await SampleCache.OpenAsync(outDir, name, ct);
        for (var q = 0; q < questions.Count; q++)
        {
            if (cache.Has($"{q}"))
            {
                continue;
            }

            var (mine, _) = await model.AnswerAsync(questions[q], 0, ct);
            var (theirs, _) = await baseline.AnswerAsync(questions[q], 0, ct);
            var first = await judge.CompleteAsync(Judge.Fill(Judge.PairTemplate, ("question", questions[q]), ("a", mine), ("b", theirs)), ct);
            var second = await judge.CompleteAsync(Judge.Fill(Judge.PairTemplate, ("question", questions[q]), ("a", theirs), ("b", mine)), ct);
            await cache.AddAsync($"{q}", new JsonObject
            {
                ["question"] = questions[q], ["model"] = mine, ["baseline"] = theirs, ["model_first"] = first, ["baseline_first"] = second,
                ["outcome"] = Judge.Combine(Judge.ParseVerdict(first), Judge.ParseVerdict(second)),
            }, ct);
        }

        var outcomes = cache.All().Select(n => n["outcome"]!.GetValue<string>()).ToList();
        int Count(string o) => outcomes.Count(x => x == o);
        var decided = outcomes.Count - Count("invalid");
        return new BenchmarkScore("win rate (ties half)", Estimate.Proportion((2 * Count("win")) + Count("tie"), 2 * Math.Max(decided, 0)) with { N = decided },
            new() { ["win"] = Count("win"), ["tie"] = Count("tie"), ["loss"] = Count("loss"), ["invalid"] = Count("invalid") });
    }
}

/// <summary>Length-normalised NLL of each option given a prompt.</summary>
public static class Likelihood
{
    public static double[] Nll(LlamaForCausalLM model, ITokenizer tokenizer, string prompt, IReadOnlyList<string> options, int maxLength) =>
        Score(model, tokenizer, prompt, options, maxLength).Mean;

    /// <summary>Per option: the NLL per token (length-normalised) and the summed NLL (−log p of the whole option).</summary>
    public static (double[] Mean, double[] Sum) Score(LlamaForCausalLM model, ITokenizer tokenizer, string prompt, IReadOnlyList<string> options, int maxLength)
    {
        model.eval();
        using var _ = TorchSharp.torch.no_grad();
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var batch = SequenceBatch.Encode(tokenizer, prompt, options, maxLength, model.parameters().First().device);
        var (sums, counts) = batch.ResponseNllSums(model);
        var sum = sums.data<float>().Select(v => (double)v).ToArray();
        var mean = (sums / counts).data<float>().Select(v => (double)v).ToArray();
        model.train();
        return (mean, sum);
    }
}

/// <summary>Per-sample results by item id, appended to a JSON Lines file as they are computed.</summary>
public sealed class SampleCache
{
    private readonly string _path;
    private readonly Dictionary<string, JsonNode> _items = [];

    private SampleCache(string path) => _path = path;

    public static async Task<SampleCache> OpenAsync(string outDir, string benchmark, CancellationToken ct)
    {
        var safe = string.Concat(benchmark.Select(c => char.IsLetterOrDigit(c) || c is '-' or '+' ? c : '_'));
        var cache = new SampleCache(Path.Combine(outDir, "samples", $"{safe}.jsonl"));
        if (File.Exists(cache._path))
        {
            // A last line cut off by a crash is dropped (and the file rewritten without it, so appends stay whole);
            // a bad line before it is an error naming it.
            var torn = false;
            var nodes = AtomicFile.ReadAppended(cache._path, l => JsonNode.Parse(l) ?? throw new FormatException("null"), _ => torn = true);
            foreach (var n in nodes)
            {
                if (n["id"]?.GetValue<string>() is { } id)
                {
                    cache._items[id] = n;
                }
            }

            if (torn)
            {
                AtomicFile.WriteAllText(cache._path, string.Concat(nodes.Select(n => n.ToJsonString() + "\n")));
            }
        }

        return cache;
    }

    public bool Has(string id) => _items.ContainsKey(id);

    public JsonNode? Get(string id) => _items.GetValueOrDefault(id);

    public IEnumerable<JsonNode> All() => _items.Values;

    public async Task AddAsync(string id, JsonObject result, CancellationToken ct)
    {
        result["id"] = id;
        _items[id] = result;
        await File.AppendAllTextAsync(_path, result.ToJsonString() + "\n", ct);
    }
}
