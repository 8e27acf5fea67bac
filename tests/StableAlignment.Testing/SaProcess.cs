using System.Diagnostics;

namespace StableAlignment.Testing;

/// <summary>The <c>sa</c> command line as a user runs it: a separate process in its own working folder, no model configured from outside.</summary>
public static class SaProcess
{
    public static ProcessStartInfo StartInfo(string workingDirectory, IEnumerable<string> args)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = RepositoryRoot.Combine("apps", "StableAlignment.Cli", "bin", configuration, "net10.0", "sa.dll");
        var start = new ProcessStartInfo("dotnet", [dll, .. args])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("Models__Default__Endpoint");
        start.Environment.Remove("Models__Default__Model");
        return start;
    }

    /// <summary>Runs to the end (at most two minutes): exit code, standard output, standard error.</summary>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(string workingDirectory, IEnumerable<string> args)
    {
        using var process = Process.Start(StartInfo(workingDirectory, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
