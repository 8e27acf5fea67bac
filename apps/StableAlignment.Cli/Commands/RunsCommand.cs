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
        var command = new Command("runs", "List runs with their progress (local store, or --gateway)") { remote, cli.GatewayKey };
        command.SetAction((p, ct) => p.GetValue(remote) is { } url
            ? new GatewayClient(url, p.GetValue(cli.GatewayKey) ?? Environment.GetEnvironmentVariable("SA_API_KEY")).RunsAsync(ct)
            : ExecuteAsync(new ModelOverrides(null, null, null), ct));
        return command;
    }

    public static async Task<int> ExecuteAsync(ModelOverrides models, CancellationToken ct)
    {
        await using var app = AppFactory.Build(models, "http://127.0.0.1:0", [AppFactory.StorePath("artifacts/store/stable-alignment.db")]);
        var runs = app.Services.GetRequiredService<IRunRepository>();
        var interactions = app.Services.GetRequiredService<IInteractionRepository>();
        var table = new Table().AddColumns("run", "kind", "status", "created", "completed", "failed", "planned");
        foreach (var run in await runs.ListAsync(ct))
        {
            var planned = run.Simulation is { } s ? (s.GridSize * s.GridSize * s.Rounds).ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";
            table.AddTextRow(run.Id.ToString(), WireEnum<RunKind>.Name(run.Kind), run.Status.ToString(), run.CreatedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
                $"{await interactions.CountByRunAsync(run.Id, InteractionStatus.Completed, ct)}",
                $"{await interactions.CountByRunAsync(run.Id, InteractionStatus.Failed, ct)}", planned);
        }

        AnsiConsole.Write(table);
        return 0;
    }
}
