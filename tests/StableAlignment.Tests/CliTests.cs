using System.Diagnostics;
using System.Text.Json.Nodes;
using StableAlignment.Testing;

namespace StableAlignment.Tests;

/// <summary>The <c>sa</c> command line as a user runs it: a separate process in its own working folder.</summary>
public sealed class CliTests
{
    private static ProcessStartInfo StartInfo(string workingDirectory, string[] args)
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
        return start;
    }

    private static async Task<(int Exit, string Out, string Err)> Sa(string workingDirectory, params string[] args)
    {
        using var process = Process.Start(StartInfo(workingDirectory, args))!;
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
    public async Task Simulation_killed_mid_way_and_resumed_has_every_interaction_exactly_once()
    {
        await using var stub = await StubModelServer.StartAsync();
        stub.Latency = TimeSpan.FromMilliseconds(40);
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli-sim")).FullName;
        string[] common = ["--endpoint", stub.Endpoint, "--model", "stub-sim"];

        using (var first = Process.Start(StartInfo(folder, ["simulate", "--grid", "3", "--rounds", "2", "--seed", "5", .. common]))!)
        {
            var runLine = await first.StandardOutput.ReadLineAsync();
            Assert.StartsWith("run ", runLine);
            _ = first.StandardOutput.ReadToEndAsync();
            _ = first.StandardError.ReadToEndAsync();
            await Eventually.ReturnsAsync(() => Task.FromResult(stub.Requests), n => n >= 90, TimeSpan.FromSeconds(60));
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
            var runId = Guid.Parse(runLine![4..]);
            var storePath = Path.Combine(folder, "artifacts", "store", "stable-alignment.db");
            using (var killed = new StableAlignment.Storage.Embedded.LiteDbStore(storePath))
            {
                var partial = await killed.CountByRunAsync(runId, StableAlignment.Storage.InteractionStatus.Completed);
                Assert.InRange(partial, 0, 17);
                Assert.Equal(StableAlignment.Storage.RunStatus.Running, (await killed.GetAsync(runId))!.Status);
            }

            var (exit, stdout, err) = await Sa(folder, ["simulate", "--resume", runId.ToString(), "--export", "export", .. common]);
            Assert.True(exit == 0, $"exit {exit}: {err}\n{stdout}");

            using var store = new StableAlignment.Storage.Embedded.LiteDbStore(storePath);
            var records = await store.ListByRunAsync(runId);
            Assert.Equal(18, records.Count);
            Assert.Equal(18, records.Select(r => (r.Round, r.AgentId)).Distinct().Count());
            Assert.All(records, r => Assert.Equal(StableAlignment.Storage.InteractionStatus.Completed, r.Status));
            Assert.Equal(9, Directory.GetFiles(Path.Combine(folder, "export", "external_memory")).Length);
            var summary = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "export", "summary.json")))!;
            Assert.Equal(18, (int)summary["completed"]!);
        }
    }

    [Fact]
    public async Task Simulate_with_a_bad_feed_says_which_line_and_why()
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli-bad")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "q.jsonl"), "{\"question\": \"ok?\"}\n{\"nope\": 1}\n");
        var (exit, _, err) = await Sa(folder, "simulate", "--questions", "q.jsonl", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m");
        Assert.Equal(2, exit);
        Assert.Contains("line 2", err);
    }

    [Fact]
    public async Task Help_lists_the_commands()
    {
        var (exit, stdout, _) = await Sa(Path.GetTempPath(), "--help");
        Assert.Equal(0, exit);
        foreach (var command in new[] { "run", "serve", "simulate", "ask", "interactions", "runs" })
        {
            Assert.Contains(command, stdout);
        }
    }
}
