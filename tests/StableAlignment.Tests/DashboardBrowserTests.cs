using System.Diagnostics;

namespace StableAlignment.Tests;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, headless) against <c>sa serve</c> with a small run, its dataset
/// and a training job: every page renders the stored data, the charts are drawn, the console has no error, and each
/// page's screenshot lands in artifacts/dashboard/.
/// </summary>
public sealed class DashboardBrowserTests
{
    private const string Key = "dashboard-test-key-0123456789";

    private static string? Chromium() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);

    [Fact]
    public async Task Every_page_renders_the_stored_data_in_chromium_without_console_errors()
    {
        Assert.SkipWhen(Chromium() is null, "chromium is not installed (make test installs it from apt)");
        await using var stub = await StubModelServer.StartAsync();
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("dashboard")).FullName;
        var port = ServiceProcess.FreePort();
        var start = SaProcess.StartInfo(folder, ["serve", "--urls", $"http://127.0.0.1:{port}", "--endpoint", stub.Endpoint, "--model", "stub-model"]);
        start.Environment["Gateway__ApiKey"] = Key;
        using var serve = Process.Start(start)!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            http.DefaultRequestHeaders.Add("X-Api-Key", Key);
            await Eventually.ReturnsAsync(async () => await Up(http), up => up, TimeSpan.FromSeconds(60));

            // A small run, its dataset and a short training job: the data the pages show.
            using var started = await http.PostAsJsonAsync("api/agents/runs", new { gridSize = 2, rounds = 2, questions = new[] { "Is it fine to read a friend's diary?", "May I keep a wallet I found?" } });
            var runId = JsonNode.Parse(await started.Content.ReadAsStringAsync())!["runId"]!.GetValue<string>();
            await Until(http, $"api/agents/runs/{runId}", j => j["status"]?.GetValue<string>() == "Completed");
            using var built = await http.PostAsJsonAsync("api/datasets", new { runId });
            var datasetId = JsonNode.Parse(await built.Content.ReadAsStringAsync())!["datasetId"]!.GetValue<string>();
            await Until(http, $"api/datasets/{datasetId}/status", j => j["state"]?.GetValue<string>() == "done");
            using var trained = await http.PostAsJsonAsync("api/training", new { runId, datasetId, epochs = 1, maxSteps = 3, checkpointEvery = 3, maxLength = 64, accumulation = 1 });
            var jobId = JsonNode.Parse(await trained.Content.ReadAsStringAsync())!["jobId"]!.GetValue<string>();
            await Until(http, $"api/training/{jobId}", j => j["state"]?.GetValue<string>() is "done" or "failed");

            var shots = Directory.CreateDirectory(RepositoryRoot.Combine("artifacts", "dashboard")).FullName;
            var pages = new (string Name, string Hash, string[] Expected, bool Chart)[]
            {
                ("runs", "#/runs", [runId, "Completed"], false),
                ("run", $"#/run/{runId}", ["Alignment per round", "Interactions (8)", "Is it fine to read a friend"], true),
                ("datasets", "#/datasets", [datasetId, $"run:{runId}"], false),
                ("training", "#/training", [jobId, "done"], true),
                ("evaluations", "#/evaluations", ["Leaderboard"], false),
            };
            foreach (var (name, hash, expected, chart) in pages)
            {
                var url = $"http://127.0.0.1:{port}/?key={Key}{hash}";
                var (dom, log) = await ChromiumAsync(["--dump-dom", url]);
                await File.WriteAllTextAsync(Path.Combine(shots, name + ".html"), dom);
                foreach (var text in expected)
                {
                    Assert.True(dom.Contains(text, StringComparison.Ordinal), $"{name}: '{text}' is not on the page");
                }

                if (chart)
                {
                    Assert.True(dom.Contains("class=\"series\"", StringComparison.Ordinal), $"{name}: no chart line was drawn");
                }

                var errors = log.Split('\n').Where(l => l.Contains("CONSOLE", StringComparison.Ordinal)
                    && (l.Contains("Uncaught", StringComparison.Ordinal) || l.Contains("Error", StringComparison.Ordinal) || l.Contains("Refused", StringComparison.Ordinal))).ToList();
                Assert.True(errors.Count == 0, $"{name}: console errors:\n{string.Join('\n', errors)}");
                Assert.DoesNotContain("class=\"error\"", dom, StringComparison.Ordinal);
                await ChromiumAsync([$"--screenshot={Path.Combine(shots, name + ".png")}", "--window-size=1280,1400", url]);
                Assert.True(new FileInfo(Path.Combine(shots, name + ".png")).Length > 1000, $"{name}: no screenshot");
            }
        }
        finally
        {
            serve.Kill();
            await serve.WaitForExitAsync();
        }
    }

    private static async Task<bool> Up(HttpClient http)
    {
        try
        {
            return (await http.GetAsync("health/live")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static Task Until(HttpClient http, string path, Func<JsonNode, bool> done) =>
        Eventually.ReturnsAsync(
            async () => (await http.GetAsync(path)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync())! : new JsonObject(),
            done,
            TimeSpan.FromSeconds(90));

    private static async Task<(string Out, string Err)> ChromiumAsync(string[] args)
    {
        var start = new ProcessStartInfo(Chromium()!, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
            "--virtual-time-budget=10000", $"--user-data-dir={TestConfiguration.TempPath("chromium")}", .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(limit.Token);
        return (await stdout, await stderr);
    }
}
