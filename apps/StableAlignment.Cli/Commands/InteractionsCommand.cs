using System.CommandLine;

namespace StableAlignment.Cli;

/// <summary><c>sa interactions</c>: a run's stored interactions, through the gateway.</summary>
public static class InteractionsCommand
{
    public static Command Create(CliOptions cli)
    {
        var run = new Option<Guid>("--run") { Description = "The run id", Required = true };
        var command = new Command("interactions", "List a run's stored interactions through the gateway") { run, cli.Gateway, cli.GatewayKey };
        command.SetAction((p, ct) => cli.GatewayClient(p).InteractionsAsync(p.GetValue(run), ct));
        return command;
    }
}
