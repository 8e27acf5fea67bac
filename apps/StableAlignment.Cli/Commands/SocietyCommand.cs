using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using StableAlignment.Learning;
using StableAlignment.Models;
using StableAlignment.Society;

namespace StableAlignment.Cli;

/// <summary><c>sa society</c> (what <c>make run</c> runs): the offline miniature of the paper's experiment.</summary>
public static class SocietyCommand
{
    public static Command Create(CliOptions cli)
    {
        var seeds = new Option<int>("--seeds") { Description = "Repeat the experiment over this many seeds", DefaultValueFactory = _ => 1 };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Report folder (default: artifacts/society-<time>)" };
        var size = new Option<string>("--size") { Description = "Local agent size: tiny or small", DefaultValueFactory = _ => "tiny" };
        var command = new Command("society", "The offline miniature: local models, a SANDBOX run, alignment data, Stable Alignment vs SFT, held-out evaluation") { seeds, output, size };
        command.SetAction((p, ct) => RunAsync(cli.Models(p), p.GetValue(seeds), p.GetValue(output), p.GetValue(size)!, ct));
        return CliOptions.Example(cli.WithModels(command), "sa society --seeds 3");
    }

    public static async Task<int> RunAsync(ModelOverrides overrides, int seeds, DirectoryInfo? output, string size, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var outDir = (output ?? new DirectoryInfo(Path.Combine("artifacts", $"society-{DateTime.UtcNow:yyyyMMdd-HHmmss}"))).FullName;
        Directory.CreateDirectory(outDir);
        var models = await LocalModelsAsync(size, ct);

        var questions = SocietyData.Questions();
        var held = questions.Where(q => q.Heldout).SelectMany(q => q.Answers).ToList();
        var rho = Spearman.Correlation([.. held.Select(a => (double)models.Rater.Rate(a.Text))], [.. held.Select(a => (double)a.Rating)]);
        Console.WriteLine($"observer agreement with held-out labels: Spearman {rho:F3} over {held.Count} answers");

        var experiment = new MiniatureExperiment(models, outDir, (services, settings) =>
            AppFactory.Build(overrides, "http://127.0.0.1:0", settings, services));
        var results = new List<SeedResult>();
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
            .StartAsync(async p =>
            {
                var task = p.AddTask("experiment", maxValue: seeds);
                for (var seed = 1; seed <= seeds; seed++)
                {
                    results.Add(await experiment.RunSeedAsync(seed, new Progress<string>(s => task.Description = s), ct));
                    task.Increment(1);
                }
            });

        var judge = MiniatureExperiment.JudgeAgreement(questions, MiniatureExperiment.Judges(questions));
        Console.WriteLine($"independent judge (cross-fitted on held-out situations) agreement with their labels: Spearman {judge:F3}");
        var table = MiniatureExperiment.Report(outDir, results, rho, judge, held.Count, clock.Elapsed);
        Console.WriteLine();
        Console.WriteLine(table);
        Console.WriteLine($"report: {Path.Combine(outDir, "report.md")} ({clock.Elapsed.TotalMinutes:F1} min)");
        return 0;
    }

    /// <summary>The offline society's local models, pretrained the first time (with a progress bar) and cached under artifacts/models.</summary>
    /// <param name="withAgent">False: only the local rater (the society's agents are played by another model).</param>
    public static async Task<SocietyModels> LocalModelsAsync(string size, CancellationToken ct, bool withAgent = true)
    {
        SocietyModels? models = null;
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async p =>
            {
                var task = p.AddTask("local models (cached after the first build)", maxValue: 1);
                models = await SocietyModels.EnsureAsync(new SocietyModelOptions { Size = size }, new PromptOptions(),
                    new Progress<StepMetrics>(m =>
                    {
                        task.MaxValue = m.TotalSteps;
                        task.Value = m.Step;
                        task.Description = $"pretraining the social agent: step {m.Step}/{m.TotalSteps}, loss {m.Loss:F3}";
                    }), ct, withAgent);
                task.Value = task.MaxValue;
            });
        return models!;
    }
}
