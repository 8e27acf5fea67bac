using MassTransit;
using Microsoft.Extensions.Options;
using Spectre.Console;
using StableAlignment.AgentRunner.Sandbox;
using StableAlignment.Contracts;
using StableAlignment.Data;
using StableAlignment.Models;
using StableAlignment.SingleProcess;
using StableAlignment.Society;
using StableAlignment.Storage;

namespace StableAlignment.Cli;

public sealed record SimulateArguments(
    FileInfo? Questions, int Grid, int Rounds, string Init, int Peers, bool Global, double Dropout,
    FileInfo? Prior, int Seed, int SeedMemories, DirectoryInfo? Export, Guid? Resume, int TimeoutSeconds, bool KeepPartial = false);

/// <summary><c>sa simulate</c>: a SANDBOX run in one process, with a progress bar; <c>--resume</c> continues one.</summary>
public static class SimulateCommand
{
    private static void Warn(string message) => Console.Error.WriteLine($"warning: {message}");

    public static async Task<int> ExecuteAsync(ModelOverrides models, SimulateArguments a, CancellationToken ct)
    {
        StartSimulation? start = null;
        if (a.Resume is null)
        {
            try
            {
                var questions = QuestionFeed.Load(a.Questions?.FullName ?? Bundled("questions", "sample.txt"), a.KeepPartial, Warn);
                var prior = PriorFile.Load(a.Prior?.FullName ?? Bundled("society", "prior.jsonl"), a.KeepPartial, Warn);
                start = new StartSimulation
                {
                    RunId = NewId.NextGuid(), GridSize = a.Grid, Rounds = a.Rounds, InitialSetting = a.Init, Peers = a.Peers,
                    GlobalInteraction = a.Global, Dropout = a.Dropout, Seed = a.Seed, SeedMemories = a.SeedMemories,
                    Questions = questions, Prior = prior,
                };
            }
            catch (Exception e) when (e is FeedFormatException or FileNotFoundException or InvalidDataException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }

            if (StartSimulationConsumer.Validate(start) is { } problem)
            {
                Console.Error.WriteLine($"Invalid simulation: {problem}");
                return 2;
            }
        }

        await using var app = await AppFactory.StartLocalAsync(models, ct);
        if (app is null)
        {
            return 2;
        }

        var runs = app.Services.GetRequiredService<IRunRepository>();
        var interactions = app.Services.GetRequiredService<IInteractionRepository>();
        var bus = app.Services.GetRequiredService<IBus>();
        var runId = start?.RunId ?? a.Resume!.Value;
        if (start is null && await runs.GetAsync(runId, ct) is not { Simulation: not null })
        {
            Console.Error.WriteLine($"No simulation run {runId} in this store.");
            await app.StopAsync(CancellationToken.None); // stopped before disposal: the background services end quietly
            return 2;
        }

        // The run is followed by its events (each stored record, then RunCompleted), watched before it starts.
        await using var watch = await RunWatch.StartAsync(bus, runId, ct);
        if (start is not null)
        {
            await bus.Publish(start, ct);
        }
        else
        {
            await bus.Publish(new ResumeSimulation { RunId = runId }, ct);
        }

        Console.WriteLine($"run {runId}");
        var total = start is not null ? start.GridSize * start.GridSize * start.Rounds
            : (await runs.GetAsync(runId, ct))!.Simulation is { } settings ? settings.GridSize * settings.GridSize * settings.Rounds : 0;
        RunCompleted? ended = null;
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask("interactions", maxValue: Math.Max(total, 1));
                try
                {
                    var wait = watch.WaitAsync(TimeSpan.FromSeconds(a.TimeoutSeconds), TimeSpan.FromSeconds(10), RunWatch.AskAgentRunner(app.Services, runId), ct);
                    while (!wait.IsCompleted)
                    {
                        task.Value = watch.Stored.Completed;
                        await Task.WhenAny(wait, Task.Delay(250, ct));
                    }

                    ended = await wait;
                    task.Value = ended?.Completed ?? watch.Stored.Completed;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    // A signal: handled below.
                }
            });

        if (ct.IsCancellationRequested)
        {
            // Stopped by a signal: in-flight model calls are cancelled with the host; the run stays resumable.
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(grace.Token);
            Console.Error.WriteLine($"stopped; `sa simulate --resume {runId}` continues the run.");
            return 130;
        }

        var run = await runs.GetAsync(runId, ct);
        var records = await interactions.ListByRunAsync(runId, ct);
        var summary = SimulationExport.Summary(run!, records, app.Services.GetRequiredService<IOptions<ModelsOptions>>().Value);
        var table = new Table().AddColumns("run", "status", "completed", "failed", "invalid ratings", "alignment before → after", "memory hints");
        table.AddTextRow(runId.ToString(), $"{run!.Status}", $"{summary["completed"]}", $"{summary["failed"]}", $"{summary["invalid_ratings"]} of {summary["ratings"]}",
            $"{summary["mean_alignment_before"]} → {summary["mean_alignment_after"]}", $"{summary["memory_hints"]}");
        AnsiConsole.Write(table);
        if (a.Export is { } export)
        {
            var written = await SimulationExport.WriteAsync(run, records, export.FullName, app.Services.GetRequiredService<IOptions<ModelsOptions>>().Value, ct);
            var curves = RoundCurves.Plot([written["rounds"]!.AsArray()], Path.Combine(export.FullName, "curves.png"));
            Console.WriteLine($"exported to {export.FullName} (summary.json, per-round curves in {Path.GetFileName(curves)})");
        }

        if (run.Status == RunStatus.Incomplete)
        {
            Console.WriteLine($"{summary["failed"]} interactions failed; `sa simulate --resume {runId}` retries them.");
        }
        else if (run.Status == RunStatus.Failed)
        {
            Console.Error.WriteLine($"error: run {runId} failed: {run.FailureReason}; `sa simulate --resume {runId}` runs it again.");
        }
        else if (run.Status == RunStatus.Running)
        {
            Console.WriteLine($"stopped before the run ended; `sa simulate --resume {runId}` continues it.");
        }

        await app.StopAsync(CancellationToken.None);
        return run.Status switch
        {
            RunStatus.Completed => 0,
            RunStatus.Running => 3,
            _ => 1,
        };
    }

    private static string Bundled(string folder, string file) => Path.Combine(AppContext.BaseDirectory, "data", folder, file);
}
