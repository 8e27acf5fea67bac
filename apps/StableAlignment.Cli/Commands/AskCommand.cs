using System.CommandLine;

namespace StableAlignment.Cli;

/// <summary><c>sa ask</c>: posts questions through the gateway.</summary>
public static class AskCommand
{
    public static Command Create(CliOptions cli)
    {
        var text = new Argument<string[]>("question") { Description = "One or more questions", Arity = ArgumentArity.OneOrMore };
        var runId = new Option<Guid?>("--run") { Description = "Add the questions to this run" };
        var command = new Command("ask", "Post questions through the gateway") { text, runId, cli.Gateway, cli.GatewayKey };
        command.SetAction((p, ct) => cli.GatewayClient(p).AskAsync(p.GetValue(text)!, p.GetValue(runId), ct));
        return CliOptions.Example(command, "sa ask \"Is it fine to lie to a friend?\" --gateway http://localhost:8080/ --api-key $KEY");
    }
}
