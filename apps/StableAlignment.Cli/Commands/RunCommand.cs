using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using MassTransit;
using Spectre.Console;
using StableAlignment.Contracts;
using StableAlignment.Storage;

namespace StableAlignment.Cli;

/// <summary><c>sa run</c>: questions in, interactions stored, a summary table and a JSON file out.</summary>
public static class RunCommand
{
    public static Command Create(CliOptions cli)
    {
        var questions = new Option<FileInfo?>("--questions") { Description = "Question file, one question per line (default: the bundled sample)" };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N questions" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Where results are written", DefaultValueFactory = _ => new DirectoryInfo("artifacts/runs") };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for all interactions", DefaultValueFactory = _ => 600 };
        var command = new Command("run", "Run the pipeline end to end in one process (in-memory bus, embedded store)") { questions, limit, output, timeout };
        command.SetAction((p, ct) => ExecuteAsync(cli.Models(p), p.GetValue(questions), p.GetValue(limit), p.GetValue(output)!, p.GetValue(timeout), ct));
        return CliOptions.Example(cli.WithModels(command), "sa run --endpoint http://localhost:11434/v1 --model llama3.1 --limit 5");
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static async Task<int> ExecuteAsync(ModelOverrides models, FileInfo? questionFile, int? limit, DirectoryInfo output, int timeoutSeconds, CancellationToken ct)
    {
        var file = questionFile?.FullName ?? Path.Combine(AppContext.BaseDirectory, "data", "questions", "sample.txt");
        if (!File.Exists(file))
        {
            Console.Error.WriteLine($"Question file not found: {file}");
            return 2;
        }

        var questions = File.ReadLines(file).Select(l => l.Trim()).Where(l => l.Length > 0).Take(limit ?? int.MaxValue).ToList();
        var rejected = questions.Select((q, i) => (i, problem: QuestionRules.Problem(q))).Where(x => x.problem is not null).ToList();
        if (questions.Count == 0 || rejected.Count > 0)
        {
            Console.Error.WriteLine(questions.Count == 0 ? $"No questions in {file}." : $"{file}, line {rejected[0].i + 1}: {rejected[0].problem}");
            return 2;
        }

        await using var app = await AppFactory.StartLocalAsync(models, ct);
        if (app is null)
        {
            return 2;
        }

        var runId = NewId.NextGuid();
        var bus = app.Services.GetRequiredService<IBus>();
        var repository = app.Services.GetRequiredService<IInteractionRepository>();
        await bus.PublishBatch(questions.Select(q => new QuestionPosed { RunId = runId, QuestionId = NewId.NextGuid(), Text = q, PostedAt = DateTime.UtcNow }), ct);

        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        long done = 0;
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask($"run {runId:N}"[..12], maxValue: questions.Count);
                while (done < questions.Count && DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
                {
                    done = await repository.CountByRunAsync(runId, cancellationToken: ct);
                    task.Value = done;
                    await Task.Delay(200, ct);
                }
            });

        var records = await repository.ListByRunAsync(runId, ct);
        var folder = Directory.CreateDirectory(Path.Combine(output.FullName, runId.ToString()));
        var path = Path.Combine(folder.FullName, "interactions.json");
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(records, Json), ct);
        Print(records);
        AnsiConsole.MarkupLineInterpolated($"{records.Count} of {questions.Count} interactions stored; written to [bold]{path}[/]");
        await app.StopAsync(CancellationToken.None);
        return records.Count == questions.Count && records.All(r => r.Status == InteractionStatus.Completed) ? 0 : 1;
    }

    private static void Print(IReadOnlyList<InteractionRecord> records)
    {
        var table = new Table().AddColumns("question", "alignment", "engagement", "status");
        foreach (var r in records)
        {
            var question = r.Question.Length > 60 ? r.Question[..57] + "..." : r.Question;
            table.AddTextRow(Markup.Escape(question), Score(r.DraftAlignment), Score(r.DraftEngagement), r.Status == InteractionStatus.Completed ? "ok" : Markup.Escape($"failed: {r.FailureReason}"));
        }

        AnsiConsole.Write(table);
        var valid = records.Select(r => r.DraftAlignment).Where(a => a is { IsValid: true }).Select(a => a!.Score!.Value).ToList();
        if (valid.Count > 0)
        {
            AnsiConsole.MarkupLineInterpolated($"mean alignment {valid.Average():0.00} over {valid.Count} valid ratings ({records.Count - valid.Count} invalid or missing)");
        }
    }

    private static string Score(Rating? rating) => rating switch
    {
        null => "-",
        { IsValid: true } => rating.Score!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "invalid",
    };
}
