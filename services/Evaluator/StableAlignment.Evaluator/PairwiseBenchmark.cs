namespace StableAlignment.Evaluator;

/// <summary><c>pairwise:QUESTIONS</c>: the Judge role's model picks between the model's answer and a baseline's, in both orders.</summary>
public sealed class PairwiseBenchmark : IBenchmark
{
    public string Kind => "pairwise";

    public bool NeedsJudge => true;

    public int CountItems(string path) => BenchmarkFiles.Questions(path).Count;

    public async Task<string?> ScoreAsync(EvaluationRunner runner, BenchmarkRun run, CancellationToken ct)
    {
        var judge = runner.JudgeModel();
        var answerer = run.Answering();
        var baseline = run.Baseline ?? throw new ArgumentException($"{run.Spec} needs a baseline (--baseline).");
        run.Scores[run.Name] = await runner.PairwiseAsync(run.Name, runner.Limit(BenchmarkFiles.Questions(run.Spec.Path)), answerer, baseline, judge, run.OutDir, ct);
        return judge.ModelId;
    }
}
