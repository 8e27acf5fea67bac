using System.Diagnostics;
using Spectre.Console;
using StableAlignment.Society;

namespace StableAlignment.Cli;

/// <summary><c>sa loop</c> (what <c>make run LOOP=N</c> runs): the closed loop over the offline society.</summary>
public static class LoopCommand
{
    public static async Task<int> RunAsync(LoopOptions options, DirectoryInfo output, string size, CancellationToken ct)
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
