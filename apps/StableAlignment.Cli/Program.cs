using System.CommandLine;
using System.Runtime.InteropServices;
using StableAlignment.Cli;

// Each command is defined by its own class under Commands/ (its options, its action, an example for --help); the
// options several share (models, gateway, --verbose, --config) come from CliOptions.
var cli = new CliOptions();
var root = new RootCommand("sa — Stable Alignment operator command line")
{
    cli.Verbose, cli.Config,
    RunCommand.Create(cli), ServeCommand.Create(cli), ServeModelCommand.Create(cli), AskCommand.Create(cli), InteractionsCommand.Create(cli),
    RunsCommand.Create(cli), SimulateCommand.Create(cli),
    new Command("dataset", "Alignment data from interaction records") { DatasetBuildCommand.Create(cli), DatasetStatsCommand.Create(cli) },
    TrainCommand.Create(cli), LossCommand.Create(cli), TokenizeCommand.Create(cli), ExportCommand.Create(cli), LogitsCommand.Create(cli),
    EvalCommand.Create(cli), SocietyCommand.Create(cli), LoopCommand.Create(cli),
};

string[] merged;
try
{
    merged = ConfigFile.Merge(args, root);
}
catch (ConfigException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

var parsed = root.Parse(merged);
// --help shows the help even when required options are missing.
var wantsHelp = merged.Any(a => a is "--help" or "-h" or "-?");
if (parsed.Errors.Count > 0 && !wantsHelp)
{
    Console.Error.WriteLine($"error: {string.Join(" ", parsed.Errors.Select(e => e.Message))} (sa {string.Join(' ', args.Take(1))} --help lists the options)");
    return 2;
}

// SIGTERM and Ctrl+C stop every command within seconds: the command's token is cancelled (in-flight model calls
// with it; runs stay resumable), and a command that has not returned 10 s later is ended.
CliOutput.Configure();
using var shutdown = new CancellationTokenSource();
void Stop(PosixSignalContext signal)
{
    signal.Cancel = true;
    if (!shutdown.IsCancellationRequested)
    {
        shutdown.Cancel();
        _ = Task.Delay(TimeSpan.FromSeconds(10)).ContinueWith(_ =>
        {
            Console.Error.WriteLine($"error: stopped by {signal.Signal} (the command had not finished 10 s later); a run left behind continues with --resume");
            Environment.Exit(130);
        }, TaskScheduler.Default);
    }
}

using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
try
{
    var exit = await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, shutdown.Token);
    // The resolved options go beside the output (--out, or simulate's --export), so the run can be repeated exactly.
    if (exit == 0 && parsed.Errors.Count == 0 && !wantsHelp && parsed.CommandResult.Command.Options.FirstOrDefault(o => o.Name is "--out" or "--export") is { } outOption
        && parsed.GetResult(outOption)?.GetValueOrDefault<object?>() is DirectoryInfo { Exists: true } folder)
    {
        ConfigFile.WriteResolved(parsed, root, folder.FullName);
    }

    return exit;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
catch (Exception e)
{
    // Bad input ends in one line naming what was wrong (the readers' messages name the file, line or record), exit 2.
    Console.Error.WriteLine(parsed.GetValue(cli.Verbose) ? e.ToString() : CliErrors.OneLine(e));
    return 2;
}
