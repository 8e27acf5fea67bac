using System.Diagnostics;
using System.Text.Json.Nodes;
using StableAlignment.Testing;

namespace StableAlignment.Tests;

/// <summary>The <c>sa</c> command line as a user runs it: a separate process in its own working folder.</summary>
public sealed class CliTests
{
    private static async Task<(int Exit, string Out, string Err)> Sa(string workingDirectory, params string[] args)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = RepositoryRoot.Combine("services", "Cli", "bin", configuration, "net10.0", "sa.dll");
        var start = new ProcessStartInfo("dotnet", [dll, .. args])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("Models__Default__Endpoint");
        start.Environment.Remove("Models__Default__Model");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Run_without_a_model_fails_fast_with_one_line_saying_how_to_configure_one()
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli")).FullName;
        var (exit, _, err) = await Sa(folder, "run");
        Assert.Equal(2, exit);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--endpoint", line);
    }

    [Fact]
    public async Task Run_against_an_endpoint_stores_every_question_and_writes_the_results()
    {
        await using var stub = await StubModelServer.StartAsync();
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli")).FullName;
        var questions = Path.Combine(folder, "questions.txt");
        await File.WriteAllLinesAsync(questions, ["Is it kind to tell the truth?", "", "Should I help a stranger?", "May I borrow without asking?"]);

        var (exit, stdout, err) = await Sa(folder, "run", "--endpoint", stub.Endpoint, "--model", "stub-cli", "--questions", questions);

        Assert.True(exit == 0, $"exit {exit}: {err}\n{stdout}");
        Assert.Contains("3 of 3 interactions stored", stdout);
        var written = Directory.GetFiles(Path.Combine(folder, "artifacts", "runs"), "interactions.json", SearchOption.AllDirectories);
        var records = JsonNode.Parse(await File.ReadAllTextAsync(Assert.Single(written)))!.AsArray();
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal("stub-cli", r!["socialModel"]!.GetValue<string>()));
        Assert.True(File.Exists(Path.Combine(folder, "artifacts", "store", "stable-alignment.db")));
    }

    [Fact]
    public async Task Help_lists_the_commands()
    {
        var (exit, stdout, _) = await Sa(Path.GetTempPath(), "--help");
        Assert.Equal(0, exit);
        foreach (var command in new[] { "run", "serve", "ask", "interactions", "runs" })
        {
            Assert.Contains(command, stdout);
        }
    }
}
