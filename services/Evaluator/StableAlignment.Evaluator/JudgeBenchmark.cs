namespace StableAlignment.Evaluator;

/// <summary><c>judge:QUESTIONS</c>: each answer graded 1–7 by the Judge role's model, with jailbreak-wrapped runs when asked for.</summary>
public sealed class JudgeBenchmark : IBenchmark
{
    public string Kind => "judge";

    public bool NeedsJudge => true;

    public int CountItems(string path) => BenchmarkFiles.Questions(path).Count;

    public async Task<string?> ScoreAsync(EvaluationRunner runner, BenchmarkRun run, CancellationToken ct)
    {
        var questions = runner.Limit(BenchmarkFiles.Questions(run.Spec.Path));
        var judge = runner.JudgeModel();
        var answerer = run.Answering();
        run.Scores[run.Name] = await runner.GradeAsync(run.Name, questions, answerer, judge, run.OutDir, ct);
        foreach (var (wrapper, i) in runner.AdversarialWrappers())
        {
            var wrapped = questions.Select(q => wrapper.Replace("{prompt}", q, StringComparison.Ordinal)).ToList();
            run.Scores[$"{run.Name}+adv{i}"] = await runner.GradeAsync($"{run.Name}+adv{i}", wrapped, answerer, judge, run.OutDir, ct);
        }

        EvaluationRunner.AddDrop(run.Scores, run.Name);
        return judge.ModelId;
    }
}
