using System.Text;
using StableAlignment.Gateway;

namespace StableAlignment.Tests;

/// <summary>Job requests are validated in full before 202 (problem details naming the field); accepted jobs have a status endpoint.</summary>
public sealed class RequestValidationTests : SingleProcessTest
{
    private async Task<Guid> RunWithOneInteractionAsync()
    {
        using var posted = await App.Client.PostAsJsonAsync("/api/questions", new { text = "Is it fine to lie to a friend?" });
        var runId = (await posted.Content.ReadFromJsonAsync<PostQuestionsResponse>())!.RunId;
        await Eventually.InteractionsAsync(App.Client, runId, 1);
        return runId;
    }

    [Theory]
    [InlineData("holdout", 5.0, "5:1:1", 64)]
    [InlineData("holdout", -0.1, "5:1:1", 64)]
    [InlineData("ratios", 0.1, "abc", 64)]
    [InlineData("ratios", 0.1, "5:1", 64)]
    [InlineData("batchSize", 0.1, "5:1:1", int.MaxValue)]
    [InlineData("batchSize", 0.1, "5:1:1", 0)]
    public async Task Unusable_dataset_requests_get_400_naming_the_field(string field, double holdout, string ratios, int batchSize)
    {
        using var response = await App.Client.PostAsJsonAsync("/api/datasets", new { runId = Guid.NewGuid(), holdout, ratios, batchSize });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"{field}:", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dataset_request_for_an_unknown_run_gets_404_and_an_accepted_one_has_a_status_that_ends_done()
    {
        using var unknown = await App.Client.PostAsJsonAsync("/api/datasets", new { runId = Guid.NewGuid() });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        var runId = await RunWithOneInteractionAsync();
        using var accepted = await App.Client.PostAsJsonAsync("/api/datasets", new { runId, holdout = 0.0 });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var status = accepted.Headers.Location!.ToString();
        Assert.EndsWith("/status", status, StringComparison.Ordinal);
        var state = await Eventually.ReturnsAsync(
            async () => JsonNode.Parse(await App.Client.GetStringAsync(status))!["state"]!.GetValue<string>(), s => s is "done" or "failed", TimeSpan.FromSeconds(60));
        Assert.Equal("done", state);
    }

    [Fact]
    public async Task Simulation_requests_over_the_run_caps_are_refused_at_once()
    {
        var many = Enumerable.Range(0, 100_001).Select(i => $"q{i}?").ToList();
        using var tooMany = await App.Client.PostAsJsonAsync("/api/agents/runs", new { gridSize = 2, rounds = 1, questions = many });
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("questions:", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // 24 MB of feed, and a 40 MB body: over the body limit, refused before they are read (as curl sends them, with
        // "Expect: 100-continue", the body never leaves the client).
        var feed = Enumerable.Range(0, 6_000).Select(i => new string('x', 3_999) + "?").ToList();
        using var huge = await PostLargeAsync("/api/agents/runs", System.Text.Json.JsonSerializer.Serialize(new { gridSize = 2, rounds = 1, questions = feed }));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        using var body40 = await PostLargeAsync("/api/questions", new string(' ', 40 << 20));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, body40.StatusCode);
        Assert.Contains("MaxRequestBodyBytes", await body40.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var runs = await App.Client.GetAsync("/api/agents/runs");
        Assert.Equal("[]", await runs.Content.ReadAsStringAsync());
    }

    private Task<HttpResponseMessage> PostLargeAsync(string url, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        return App.Client.SendAsync(request);
    }

    [Fact]
    public async Task An_accepted_run_has_a_status_with_its_counts()
    {
        using var accepted = await App.Client.PostAsJsonAsync("/api/agents/runs", new { gridSize = 2, rounds = 1, questions = new[] { "Is honesty good?" } });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var location = accepted.Headers.Location!.ToString();
        var run = await Eventually.ReturnsAsync(
            async () => (await App.Client.GetAsync(location)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync()) : null,
            r => r?["status"]?.GetValue<string>() is "Completed" or "Incomplete",
            TimeSpan.FromSeconds(60));
        Assert.Equal(4, run!["total"]!.GetValue<int>());
        Assert.Equal(4, run["completed"]!.GetValue<int>() + run["failed"]!.GetValue<int>());
        using var unknown = await App.Client.GetAsync($"/api/agents/runs/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task An_accepted_training_job_that_fails_later_shows_failed_with_the_reason()
    {
        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?>
        {
            ["Trainer:DataWaitSeconds"] = "1", ["Trainer:Root"] = TestConfiguration.TempPath("jobs"), ["Trainer:DatasetsRoot"] = TestConfiguration.TempPath("datasets"),
        });
        using var accepted = await app.Client.PostAsJsonAsync("/api/training", new { runId = Guid.NewGuid(), datasetId = "ds-never-built" });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var location = accepted.Headers.Location!.ToString();
        var job = await Eventually.ReturnsAsync(
            async () => (await app.Client.GetAsync(location)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync()) : null,
            j => j?["state"]?.GetValue<string>() == "failed",
            TimeSpan.FromSeconds(60));
        Assert.Contains("ds-never-built", job!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chat_only_endpoint_falls_back_to_the_local_embedder_and_the_run_completes()
    {
        await using var stub = await StubModelServer.StartAsync();
        stub.NoEmbeddings = true;
        await using var app = await SingleProcessApp.StartAsync(stub);
        var prior = new[]
        {
            new { question = "Is honesty good?", response = "Yes.", aligned = true }, new { question = "Should I help?", response = "Yes.", aligned = true },
            new { question = "Is honesty good?", response = "No.", aligned = false }, new { question = "Should I help?", response = "No.", aligned = false },
        };
        using var accepted = await app.Client.PostAsJsonAsync("/api/agents/runs", new { gridSize = 2, rounds = 2, seedMemories = 1, questions = new[] { "Is honesty good?" }, prior });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var run = await Eventually.ReturnsAsync(
            async () => (await app.Client.GetAsync(accepted.Headers.Location)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync()) : null,
            r => r?["status"]?.GetValue<string>() is "Completed" or "Incomplete" or "Failed",
            TimeSpan.FromSeconds(60));
        Assert.Equal("Completed", run!["status"]!.GetValue<string>());
        Assert.Equal(8, run["completed"]!.GetValue<int>());
        Assert.True(stub.EmbeddingRequests >= 1, "the endpoint was never asked for an embedding");
        var records = await Eventually.InteractionsAsync(app.Client, Guid.Parse(run["id"]!.GetValue<string>()), 8);
        Assert.Contains(records, r => r.MemoryHintQuestion is not null); // round 2 recalled round 1 through the local embedder
    }

    [Fact]
    public async Task A_run_whose_work_stops_on_an_error_ends_failed_with_the_reason_and_resume_completes_it()
    {
        Stub.FailEmbeddings = true;
        var prior = new[]
        {
            new { question = "Is honesty good?", response = "Yes.", aligned = true }, new { question = "Should I help?", response = "Yes.", aligned = true },
            new { question = "Is honesty good?", response = "No.", aligned = false }, new { question = "Should I help?", response = "No.", aligned = false },
        };
        using var accepted = await App.Client.PostAsJsonAsync("/api/agents/runs", new { gridSize = 2, rounds = 1, seedMemories = 1, questions = new[] { "Is it fine to lie?" }, prior });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var location = accepted.Headers.Location!.ToString();
        var failed = await RunStatusAsync(location, "Failed");
        Assert.Contains("embedding", failed["failureReason"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);

        Stub.FailEmbeddings = false;
        using var resumed = await App.Client.PostAsync(location + "/resume", null);
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        var completed = await RunStatusAsync(location, "Completed");
        Assert.Equal(4, completed["completed"]!.GetValue<int>());
        Assert.Null(completed["failureReason"]);
    }

    private Task<JsonNode> RunStatusAsync(string location, string status) =>
        Eventually.ReturnsAsync(
            async () => (await App.Client.GetAsync(location)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync())! : new JsonObject(),
            r => r["status"]?.GetValue<string>() == status,
            TimeSpan.FromSeconds(60));
}
