using System.CommandLine;
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

/// <summary>What <c>sa simulate</c> runs besides the world's settings: the feed and prior files, the export folder, a run to resume.</summary>
public sealed record SimulateArguments(FileInfo? Questions, FileInfo? Prior, DirectoryInfo? Export, Guid? Resume, int TimeoutSeconds, bool KeepPartial = false, bool Json = false);

/// <summary>
/// <c>sa simulate</c>: a SANDBOX run in one process, with a progress bar; <c>--resume</c> continues one. The world's
/// options are made from <see cref="SimulationSettings"/>, the definition agent-runner's message and HTTP body use too.
/// </summary>
public static class SimulateCommand
{
    /// <summary>Older names of the settings' options, kept working.</summary>
    private static readonly Dictionary<string, string> Aliases = new()
    {
        [nameof(SimulationSettings.GridSize)] = "--grid", [nameof(SimulationSettings.InitialSetting)] = "--init", [nameof(SimulationSettings.GlobalInteraction)] = "--global",
    };

    public static Command Create(CliOptions cli)
    {
        var questions = new Option<FileInfo?>("--questions") { Description = "Question feed: text lines, JSON Lines (question/text) or HH-RLHF dialogues, plain or gzip (default: bundled)" };
        var prior = new Option<FileInfo?>("--prior") { Description = "Labelled prior, JSON Lines {question, response, morality_label} (default: bundled, 240 entries per label)" };
        var export = new Option<DirectoryInfo?>("--export") { Description = "Write external_memory/agent_<id>.jsonl and summary.json here" };
        var resume = new Option<Guid?>("--resume") { Description = "Continue this run: missing and failed interactions are run again" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the run", DefaultValueFactory = _ => 3600 };
        var keepPartial = new Option<bool>("--keep-partial") { Description = "Keep the complete lines of a truncated gzip feed or prior instead of failing" };
        var settings = new RecordOptions<SimulationSettings>(Aliases);
        var json = CliOutput.JsonOption();
        var command = new Command("simulate", "Run a SANDBOX simulation with Back-Scatter in one process") { questions, prior, export, resume, timeout, keepPartial, json };
        foreach (var option in settings.Options)
        {
            command.Options.Add(option);
        }

        command.SetAction((p, ct) => ExecuteAsync(cli.Models(p), settings.Bind(p), new SimulateArguments(
            p.GetValue(questions), p.GetValue(prior), p.GetValue(export), p.GetValue(resume), p.GetValue(timeout), p.GetValue(keepPartial), p.GetValue(json)), ct));
        CliOptions.Excludes(command, resume, "a resumed run keeps the settings it was started with", [questions, prior, keepPartial, .. settings.Options]);
        return CliOptions.Example(cli.WithModels(command),
            "sa simulate --grid-size 4 --rounds 2 --initial-setting mixed_half_half --export out/sim --endpoint http://localhost:11434/v1 --model llama3.1");
    }

    private static void Warn(string message) => Console.Error.WriteLine($"warning: {message}");

    /// <summary>The start message of a new run, or null after printing why it cannot start.</summary>
    private static StartSimulation? NewRun(SimulationSettings settings, SimulateArguments a)
    {
        StartSimulation start;
        try
        {
            var questions = QuestionFeed.Load(a.Questions?.FullName ?? Bundled("questions", "sample.txt"), a.KeepPartial, Warn);
            var prior = PriorFile.Load(a.Prior?.FullName ?? Bundled("society", "prior.jsonl"), a.KeepPartial, Warn);
            start = new StartSimulation(settings, NewId.NextGuid(), questions) { Prior = prior };
        }
        catch (Exception e) when (e is FeedFormatException or FileNotFoundException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return null;
        }

        if (StartSimulationConsumer.Validate(start) is { } problem)
        {
            Console.Error.WriteLine($"Invalid simulation: {problem}");
            return null;
        }

        return start;
    }

    public static async Task<int> ExecuteAsync(ModelOverrides models, SimulationSettings settings, SimulateArguments a, CancellationToken ct)
    {
        CliOutput.UseJson(a.Json);
        StartSimulation? start = null;
        if (a.Resume is null && (start = NewRun(settings, a)) is null)
        {
            return 2;
        }

        await using var app = await AppFactory.StartLocalAsync(models, ct);
        if (app is null)
        {
            return 2;
        }

        var runs = app.Services.GetRequiredService<IRunRepository>();
        var interactions = app.Services.GetRequiredService<IInteractionRepository>();
        var runId = start?.RunId ?? a.Resume!.Value;
        if (start is null && await runs.GetAsync(runId, ct) is not { Simulation: not null })
        {
            Console.Error.WriteLine($"No simulation run {runId} in this store.");
            await app.StopAsync(CancellationToken.None); // stopped before disposal: the background services end quietly
            return 2;
        }

        CliOutput.Notes.WriteLine($"run {runId}");
        var total = start is not null ? start.GridSize * start.GridSize * start.Rounds
            : (await runs.GetAsync(runId, ct))!.Simulation is { } stored ? stored.GridSize * stored.GridSize * stored.Rounds : 0;
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask("interactions", maxValue: Math.Max(total, 1));
                try
                {
                    await LocalPipeline.SimulateAsync(app.Services, runId, start, TimeSpan.FromSeconds(a.TimeoutSeconds), stored => task.Value = stored.Completed, ct);
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

        var run = (await runs.GetAsync(runId, ct))!;
        await ReportAsync(app, run, await interactions.ListByRunAsync(runId, ct), a.Export, ct);
        await app.StopAsync(CancellationToken.None);
        return run.Status switch
        {
            RunStatus.Completed => 0,
            RunStatus.Running => 3,
            _ => 1,
        };
    }

    /// <summary>The run's summary table, its export when asked for, and what to do next when it did not complete.</summary>
    private static async Task ReportAsync(Microsoft.AspNetCore.Builder.WebApplication app, RunRecord run, IReadOnlyList<InteractionRecord> records, DirectoryInfo? exportTo, CancellationToken ct)
    {
        var runId = run.Id;
        var summary = SimulationExport.Summary(run, records, app.Services.GetRequiredService<IOptions<ModelsOptions>>().Value);
        if (CliOutput.JsonMode)
        {
            CliOutput.WriteJson(summary, RunSummary.Json); // the same document as the export's summary.json
        }
        else
        {
            var table = new Table().AddColumn(new TableColumn("run").NoWrap()).AddColumns("status", "completed", "failed", "invalid ratings", "alignment before → after", "memory hints");
            table.AddTextRow(runId.ToString(), $"{run.Status}", $"{summary.Completed}", $"{summary.Failed}", $"{summary.InvalidRatings} of {summary.Ratings}",
                $"{Text(summary.MeanAlignmentBefore)} → {Text(summary.MeanAlignmentAfter)}", $"{summary.MemoryHints}");
            AnsiConsole.Write(table);
        }

        if (exportTo is { } export)
        {
            var written = await SimulationExport.WriteAsync(run, records, export.FullName, app.Services.GetRequiredService<IOptions<ModelsOptions>>().Value, ct);
            var curves = RoundCurves.Plot([written.Rounds], Path.Combine(export.FullName, "curves.png"));
            CliOutput.Notes.WriteLine($"exported to {export.FullName} (summary.json, per-round curves in {Path.GetFileName(curves)})");
        }

        if (run.Status == RunStatus.Incomplete)
        {
            CliOutput.Notes.WriteLine($"{summary.Failed} interactions failed; `sa simulate --resume {runId}` retries them.");
        }
        else if (run.Status == RunStatus.Failed)
        {
            Console.Error.WriteLine($"error: run {runId} failed: {run.FailureReason}; `sa simulate --resume {runId}` runs it again.");
        }
        else if (run.Status == RunStatus.Running)
        {
            CliOutput.Notes.WriteLine($"stopped before the run ended; `sa simulate --resume {runId}` continues it.");
        }
    }

    private static string Text(double? mean) => mean?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "";

    private static string Bundled(string folder, string file) => Path.Combine(AppContext.BaseDirectory, "data", folder, file);
}
