namespace StableAlignment.Evaluator;

/// <summary>
/// A multiple-choice kind scored by likelihood (the option with the lowest NLL is the pick), with jailbreak-wrapped
/// runs when asked for; a kind with several true answers per item (TruthfulQA) also reads them for its MC2 score.
/// </summary>
public sealed class ChoiceBenchmark(string kind, Func<string, ChoiceSet> read, Func<string, ChoiceSet>? readMc2 = null) : IBenchmark
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
        if (readMc2 is not null)
        {
            var mc2 = readMc2(run.Spec.Path).Take(runner.Options.Limit).Items;
            scores[$"{run.Name}-mc2"] = await runner.Mc2Async($"{run.Name}-mc2", mc2, model, tokenizer, run.OutDir, ct);
        }

        return null;
    }
}
