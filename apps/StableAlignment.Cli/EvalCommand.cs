using Spectre.Console;
using StableAlignment.Evaluator;
using StableAlignment.Learning;
using StableAlignment.Models;

namespace StableAlignment.Cli;

public sealed record EvalArguments(
    DirectoryInfo? Checkpoint, string Benchmarks, DirectoryInfo Out, bool Adversarial, FileInfo? Wrappers, int Repeats,
    DirectoryInfo? Baseline, bool Remote, int? Limit, int MaxNewTokens, bool AllowSelfJudge = false);

/// <summary><c>sa eval</c> and <c>sa eval leaderboard</c>.</summary>
public static class EvalCommand
{
    public static async Task<int> RunAsync(ModelOverrides models, EvalArguments a, CancellationToken ct)
    {
        var specs = a.Benchmarks.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (specs.Count == 0)
        {
            Console.Error.WriteLine("--benchmarks needs at least one kind:path (hh-rlhf, bigbench, heldout, judge, pairwise).");
            return 2;
        }

        EvaluationRunner.Preflight(specs);
        await using var app = AppFactory.Build(models, "http://127.0.0.1:0");
        var catalog = app.Services.GetRequiredService<IModelCatalog>();
        var selfJudge = EvaluationOptions.SelfJudgeOf(specs, app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ModelsOptions>>().Value);
        if (selfJudge is not null && !a.AllowSelfJudge)
        {
            Console.Error.WriteLine($"error: judge: {selfJudge}, or pass --allow-self-judge (the report then says so).");
            return 2;
        }

        try
        {
            LlamaForCausalLM? model = null;
            ITokenizer? tokenizer = null;
            var step = 0;
            var id = "remote";
            if (a.Checkpoint is { } dir)
            {
                (model, var state) = Checkpoints.Load(dir.FullName);
                tokenizer = Checkpoints.TokenizerFor(dir.FullName);
                step = state.Step;
                id = $"{Path.GetFileName(dir.FullName.TrimEnd('/'))}@{step}";
            }

            var generation = new GenerationOptions(MaxNewTokens: a.MaxNewTokens);
            IAnswerer? answerer = a.Remote ? new ChatAnswerer(catalog.Chat(ModelRole.SocialAgent))
                : model is not null ? new LocalAnswerer(model, tokenizer!, generation, id) : null;
            if (a.Remote)
            {
                id = answerer!.Id;
            }

            IAnswerer? baseline = null;
            if (a.Baseline is { } b)
            {
                var (baseModel, _) = Checkpoints.Load(b.FullName);
                baseline = new LocalAnswerer(baseModel, Checkpoints.TokenizerFor(b.FullName), generation, b.Name);
            }

            var options = new EvaluationOptions
            {
                Benchmarks = specs, Adversarial = a.Adversarial, Wrappers = a.Adversarial ? Wrappers.Load(a.Wrappers?.FullName) : [],
                Repeats = a.Repeats, Limit = a.Limit, Generation = generation, SelfJudge = selfJudge is not null,
            };
            EvaluationReport? report = null;
            await AnsiConsole.Status().StartAsync("evaluating…", async ctx =>
            {
                var progress = new Progress<string>(name => ctx.Status($"evaluating {name}…"));
                report = await new EvaluationRunner(options, catalog).RunAsync(id, model, tokenizer, answerer, baseline, a.Out.FullName, step, a.Checkpoint?.FullName, progress, ct);
            });
            var table = new Table().AddColumns("benchmark", "metric", "score", "95 % interval", "n");
            foreach (var (name, s) in report!.Scores)
            {
                table.AddTextRow(Markup.Escape(name), s.Metric, $"{s.Score.Value:0.000}", $"{s.Score.Low:0.000}–{s.Score.High:0.000}", $"{s.Score.N}");
            }

            AnsiConsole.Write(table);
            Console.WriteLine($"report: {Path.Combine(a.Out.FullName, "report.md")}");
            foreach (var (name, reason) in report.Failures)
            {
                Console.Error.WriteLine($"error: {name} was not scored: {reason}");
            }

            // The other benchmarks' results are in the report; a benchmark that could not be scored still fails the command.
            return report.Failures.Count == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is BenchmarkFormatException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException or InvalidOperationException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    public static int Leaderboard(DirectoryInfo root)
    {
        if (!root.Exists)
        {
            Console.Error.WriteLine($"No evaluations in {root.FullName}.");
            return 2;
        }

        Console.WriteLine(Reports.Leaderboard(root.FullName));
        return 0;
    }
}
