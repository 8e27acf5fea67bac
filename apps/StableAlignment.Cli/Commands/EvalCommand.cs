using System.CommandLine;
using Spectre.Console;
using StableAlignment.Evaluator;
using StableAlignment.Learning;
using StableAlignment.Models;

namespace StableAlignment.Cli;

/// <summary>What <c>sa eval</c> evaluates, on which benchmarks, and where the report goes.</summary>
public sealed record EvalArguments(
    DirectoryInfo? Checkpoint, string Benchmarks, DirectoryInfo Out, bool Adversarial, FileInfo? Wrappers, int Repeats,
    DirectoryInfo? Baseline, bool Remote, int? Limit, int MaxNewTokens, bool AllowSelfJudge = false, bool Json = false);

/// <summary><c>sa eval</c>: a checkpoint (or a remote model) on likelihood, held-out preference, judged and adversarial benchmarks.</summary>
public static class EvalCommand
{
    public static Command Create(CliOptions cli)
    {
        var checkpoint = new Option<DirectoryInfo?>("--checkpoint") { Description = "A training folder or checkpoint (its latest checkpoint is used)" };
        var benchmarks = new Option<string>("--benchmarks")
        {
            Description = "kind:path, comma-separated: hh-rlhf:FILE, bigbench:FILE, moral-stories:FILE, ethics:FILE, truthfulqa:FILE, heldout:DATASET, judge:QUESTIONS, pairwise:QUESTIONS", Required = true,
        };
        var output = new Option<DirectoryInfo>("--out") { Description = "Report folder (an interrupted evaluation continues here)", Required = true };
        var adversarial = new Option<bool>("--adversarial") { Description = "Also run with jailbreak-style wrappers and report the drop" };
        var wrappers = new Option<FileInfo?>("--wrappers") { Description = "Wrapper file, one template with {prompt} per line (default: bundled)" };
        var repeats = new Option<int>("--repeats") { Description = "Judge repeats per question", DefaultValueFactory = _ => 1 };
        var baseline = new Option<DirectoryInfo?>("--baseline") { Description = "Baseline checkpoint for pairwise judging" };
        var remote = new Option<bool>("--remote") { Description = "Answer with the SocialAgent role's model (any configured endpoint) instead of a checkpoint" };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N items of each benchmark" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens generated per answer (judged benchmarks)", DefaultValueFactory = _ => 256 };
        var selfJudge = new Option<bool>("--allow-self-judge") { Description = "Judge with the observer's own model (refused otherwise: its scores would be agreement with itself); the report marks it" };
        var json = CliOutput.JsonOption();
        var command = new Command("eval", "Evaluate a checkpoint (or a remote model): likelihood, held-out preference, judged generation, adversarial")
        {
            checkpoint, benchmarks, output, adversarial, wrappers, repeats, baseline, remote, limit, maxNew, selfJudge, json, LeaderboardCommand.Create(cli),
        };
        command.SetAction((p, ct) => RunAsync(cli.Models(p), new EvalArguments(
            p.GetValue(checkpoint), p.GetValue(benchmarks)!, p.GetValue(output)!, p.GetValue(adversarial), p.GetValue(wrappers), p.GetValue(repeats),
            p.GetValue(baseline), p.GetValue(remote), p.GetValue(limit), p.GetValue(maxNew), p.GetValue(selfJudge), p.GetValue(json)), ct));
        CliOptions.Excludes(command, remote, "--remote answers with the configured SocialAgent model, --checkpoint with a local one; give one of them", checkpoint);
        return CliOptions.Example(cli.WithModels(command), "sa eval --checkpoint out/train --benchmarks bigbench:data/benchmarks/society-choice.json --out out/eval");
    }

    public static async Task<int> RunAsync(ModelOverrides models, EvalArguments a, CancellationToken ct)
    {
        CliOutput.UseJson(a.Json);
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
            var (id, step, model, tokenizer, answerer, baseline) = Models(a, catalog);
            var options = new EvaluationOptions
            {
                Benchmarks = specs, Adversarial = a.Adversarial, Wrappers = a.Adversarial ? Wrappers.Load(a.Wrappers?.FullName) : [],
                Repeats = a.Repeats, Limit = a.Limit, Generation = new GenerationOptions(MaxNewTokens: a.MaxNewTokens), SelfJudge = selfJudge is not null,
            };
            EvaluationReport? report = null;
            await AnsiConsole.Status().StartAsync("evaluating…", async ctx =>
            {
                var progress = new Progress<string>(name => ctx.Status($"evaluating {name}…"));
                report = await new EvaluationRunner(options, catalog).RunAsync(id, model, tokenizer, answerer, baseline, a.Out.FullName, step, a.Checkpoint?.FullName, progress, ct);
            });
            Print(report!, a.Out);
            // The other benchmarks' results are in the report; a benchmark that could not be scored still fails the command.
            return report!.Failures.Count == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is BenchmarkFormatException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException or InvalidOperationException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    /// <summary>What is evaluated: the checkpoint's model (likelihood kinds) and answerer, or the remote model; the pairwise baseline; the report's id and step.</summary>
    private static (string Id, int Step, LlamaForCausalLM? Model, ITokenizer? Tokenizer, IAnswerer? Answerer, IAnswerer? Baseline) Models(EvalArguments a, IModelCatalog catalog)
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

        return (id, step, model, tokenizer, answerer, baseline);
    }

    /// <summary>The scores as a table, where the report is, and every benchmark that could not be scored.</summary>
    private static void Print(EvaluationReport report, DirectoryInfo output)
    {
        if (CliOutput.JsonMode)
        {
            CliOutput.WriteJson(report, Reports.Json); // the same document as report.json
        }
        else
        {
            var table = new Table().AddColumns("benchmark", "metric", "score", "95 % interval", "n");
            foreach (var (name, s) in report.Scores)
            {
                table.AddTextRow(name, s.Metric, $"{s.Score.Value:0.000}", $"{s.Score.Low:0.000}–{s.Score.High:0.000}", $"{s.Score.N}");
            }

            AnsiConsole.Write(table);
        }

        CliOutput.Notes.WriteLine($"report: {Path.Combine(output.FullName, "report.md")}");
        foreach (var (name, reason) in report.Failures)
        {
            Console.Error.WriteLine($"error: {name} was not scored: {reason}");
        }
    }
}
