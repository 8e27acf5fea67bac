using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using StableAlignment.Contracts;
using StableAlignment.Society;

namespace StableAlignment.Cli;

/// <summary><c>sa loop</c> (what <c>make run LOOP=N</c> runs): the closed loop over the offline society.</summary>
public static class LoopCommand
{
    /// <summary>Older names of the recipe's options, kept working.</summary>
    private static readonly Dictionary<string, string> Aliases = new() { [nameof(LoopRecipe.GridSize)] = "--grid", [nameof(LoopRecipe.TrainEpochs)] = "--epochs" };

    public static Command Create(CliOptions cli)
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "Loop folder; running the same command on it again continues where it stopped", DefaultValueFactory = _ => new DirectoryInfo("artifacts/loop") };
        var size = new Option<string>("--size") { Description = "Local agent size for the base: tiny or small", DefaultValueFactory = _ => "tiny" };
        size.AcceptOnlyFromAmong("tiny", "small");
        var recipe = new RecordOptions<LoopRecipe>(Aliases);
        var command = new Command("loop", "The closed loop: each iteration's checkpoint, served over the OpenAI API, plays the next society; its data train the next checkpoint")
        {
            output, size,
        };
        foreach (var option in recipe.Options)
        {
            command.Options.Add(option);
        }

        command.SetAction((p, ct) => RunAsync(
            recipe.Bind(p) with { ExternalApiKey = Environment.GetEnvironmentVariable("SA_EXTERNAL_API_KEY") }, p.GetValue(output)!, p.GetValue(size)!, ct));
        return CliOptions.Example(command, "sa loop --iterations 3 --out artifacts/loop   (again after a crash: the same command continues)");
    }

    public static async Task<int> RunAsync(LoopRecipe options, DirectoryInfo output, string size, CancellationToken ct)
    {
        if (options.Problem() is { } problem)
        {
            Console.Error.WriteLine(problem);
            return 2;
        }

        var clock = Stopwatch.StartNew();
        var outDir = output.FullName;
        Directory.CreateDirectory(outDir);
        var models = await SocietyCommand.LocalModelsAsync(size, ct, withAgent: options.Base is null);

        var loop = new SocietyLoop(models, outDir, options, (services, settings) => AppFactory.Build(new ModelOverrides(null, null, null), "http://127.0.0.1:0", settings, services));
        var resumed = SocietyLoop.ReadState(loop.StatePath) is { } before ? before.Iterations.Count(i => i.Done) : 0;
        if (resumed > 0)
        {
            Console.WriteLine($"continuing {loop.StatePath}: {resumed} iteration(s) done");
        }

        LoopState? state = null;
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
            .StartAsync(async p =>
            {
                var task = p.AddTask("loop", maxValue: options.Iterations);
                task.Value = resumed;
                state = await loop.RunAsync(new Progress<string>(s =>
                {
                    task.Description = s;
                    task.Value = SocietyLoop.ReadState(loop.StatePath)?.Iterations.Count(i => i.Done) ?? 0;
                }), ct);
                task.Value = options.Iterations;
            });

        var report = Path.Combine(outDir, "loop-report.md");
        var lines = File.ReadAllLines(report);
        Console.WriteLine();
        foreach (var line in lines.SkipWhile(l => !l.StartsWith("| iteration", StringComparison.Ordinal)).TakeWhile(l => l.StartsWith('|')))
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"report: {report} ({clock.Elapsed.TotalMinutes:F1} min); chain of ids: {loop.StatePath}");
        return 0;
    }
}
