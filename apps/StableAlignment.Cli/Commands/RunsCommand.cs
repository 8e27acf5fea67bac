using System.CommandLine;
using Spectre.Console;
using StableAlignment.Contracts;
using StableAlignment.Storage;

namespace StableAlignment.Cli;

/// <summary><c>sa runs</c> on the local store: every run with its progress.</summary>
public static class RunsCommand
{
    public static Command Create(CliOptions cli)
    {
        var remote = new Option<Uri?>("--gateway") { Description = "List the runs of a gateway instead of the local store", CustomParser = CliOptions.ParseUrl };
        var json = CliOutput.JsonOption();
        var command = new Command("runs", "List runs with their progress (local store, or --gateway)") { remote, cli.GatewayKey, json };
        command.SetAction((p, ct) => p.GetValue(remote) is { } url
            ? new GatewayClient(url, p.GetValue(cli.GatewayKey) ?? Environment.GetEnvironmentVariable("SA_API_KEY")).RunsAsync(ct)
            : ExecuteAsync(new ModelOverrides(null, null, null), ct, p.GetValue(json)));
        return command;
    }

    /// <summary>One run as <c>--json</c> lists it.</summary>
    public sealed record RunLine(Guid Id, string Kind, RunStatus Status, DateTime CreatedAt, long Completed, long Failed, int? Planned);

    public static async Task<int> ExecuteAsync(ModelOverrides models, CancellationToken ct, bool json = false)
    {
        await using var app = AppFactory.Build(models, "http://127.0.0.1:0", [AppFactory.StorePath("artifacts/store/stable-alignment.db")]);
        var runs = app.Services.GetRequiredService<IRunRepository>();
        var interactions = app.Services.GetRequiredService<IInteractionRepository>();
        var lines = new List<RunLine>();
        foreach (var run in await runs.ListAsync(ct))
        {
            lines.Add(new RunLine(run.Id, WireEnum<RunKind>.Name(run.Kind), run.Status, run.CreatedAt,
                await interactions.CountByRunAsync(run.Id, InteractionStatus.Completed, ct), await interactions.CountByRunAsync(run.Id, InteractionStatus.Failed, ct),
                run.Simulation is { } s ? s.GridSize * s.GridSize * s.Rounds : null));
        }

        if (json)
        {
            CliOutput.WriteJson(lines);
            return 0;
        }

        var table = new Table().AddColumn(new TableColumn("run").NoWrap()).AddColumns("kind", "status", "created", "completed", "failed", "planned");
        foreach (var l in lines)
        {
            table.AddTextRow(l.Id.ToString(), l.Kind, l.Status.ToString(), l.CreatedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
                $"{l.Completed}", $"{l.Failed}", l.Planned?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-");
        }

        AnsiConsole.Write(table);
        return 0;
    }
}
