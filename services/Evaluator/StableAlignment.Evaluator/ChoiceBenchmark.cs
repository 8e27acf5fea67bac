namespace StableAlignment.Evaluator;

/// <summary>
/// A multiple-choice kind scored by likelihood (the option with the lowest NLL is the pick), with jailbreak-wrapped
/// runs when asked for; TruthfulQA adds its MC2 score.
/// </summary>
public sealed class ChoiceBenchmark(string kind, Func<string, ChoiceSet> read) : IBenchmark
{
    public string Kind => kind;

    public int CountItems(string path) => read(path).Items.Count;

    public async Task<string?> ScoreAsync(EvaluationRunner runner, BenchmarkRun run, CancellationToken ct)
    {
        var (model, tokenizer) = run.Local();
        var set = read(run.Spec.Path).Take(runner.Options.Limit);
        var scores = run.Scores;
        scores[run.Name] = await runner.ChoiceAsync(run.Name, set.Items, model, tokenizer, run.OutDir, ct);
        foreach (var (reason, count) in set.Skipped)
        {
            scores[run.Name].Details[$"skipped: {reason}"] = count;
        }

        foreach (var (wrapper, i) in runner.AdversarialWrappers())
        {
            var wrapped = set.Items.Select(it => it with { Prompt = wrapper.Replace("{prompt}", it.Prompt, StringComparison.Ordinal) }).ToList();
            scores[$"{run.Name}+adv{i}"] = await runner.ChoiceAsync($"{run.Name}+adv{i}", wrapped, model, tokenizer, run.OutDir, ct);
        }

        EvaluationRunner.AddDrop(scores, run.Name);
        if (kind == "truthfulqa")
        {
            var mc2 = BenchmarkFiles.TruthfulQaMc2(run.Spec.Path).Take(runner.Options.Limit).Items;
            scores[$"{run.Name}-mc2"] = await runner.Mc2Async($"{run.Name}-mc2", mc2, model, tokenizer, run.OutDir, ct);
        }

        return null;
    }
}
