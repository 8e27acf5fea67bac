namespace StableAlignment.Evaluator;

/// <summary><c>heldout:DATASET</c>: pairwise agreement with the observer's ratings on a dataset's held-out split.</summary>
public sealed class HeldoutBenchmark : IBenchmark
{
    public string Kind => "heldout";

    public int CountItems(string path) => BenchmarkFiles.Heldout(path).Count;

    public async Task<string?> ScoreAsync(EvaluationRunner runner, BenchmarkRun run, CancellationToken ct)
    {
        var (model, tokenizer) = run.Local();
        run.Scores[run.Name] = await runner.HeldoutAsync(run.Name, runner.Limit(BenchmarkFiles.Heldout(run.Spec.Path)), model, tokenizer, run.OutDir, ct);
        return null;
    }
}
