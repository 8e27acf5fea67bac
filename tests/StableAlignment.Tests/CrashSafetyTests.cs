using StableAlignment.Primitives;

namespace StableAlignment.Tests;

/// <summary>Files written whole, read tolerantly; failed jobs marked failed and retried on request; nothing that stops a host.</summary>
public sealed class CrashSafetyTests
{
    [Fact]
    public void A_cut_off_last_line_is_dropped_with_a_warning_and_a_bad_line_before_it_is_an_error()
    {
        var path = TestConfiguration.TempPath("appended") + ".jsonl";
        File.WriteAllText(path, "{\"a\":1}\n{\"a\":2}\n{\"a\":");
        var warnings = new List<string>();
        var items = AtomicFile.ReadAppended(path, l => JsonNode.Parse(l)!["a"]!.GetValue<int>(), warnings.Add);
        Assert.Equal([1, 2], items);
        Assert.Contains("line 3", Assert.Single(warnings), StringComparison.Ordinal);

        File.WriteAllText(path, "{\"a\":1}\n{\"a\":\n{\"a\":3}\n");
        var e = Assert.Throws<InvalidDataException>(() => AtomicFile.ReadAppended(path, l => JsonNode.Parse(l)!["a"]!.GetValue<int>()));
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_atomic_write_replaces_the_whole_file_and_leaves_no_temporary_file()
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("atomic")).FullName;
        var path = Path.Combine(folder, "report.json");
        AtomicFile.WriteAllText(path, "first, longer content");
        AtomicFile.WriteAllText(path, "second");
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Equal(["report.json"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_failed_training_job_is_retried_by_the_same_request_and_then_completes()
    {
        var datasets = TestConfiguration.TempPath("datasets");
        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?>
        {
            ["Trainer:DataWaitSeconds"] = "1", ["Trainer:Root"] = TestConfiguration.TempPath("jobs"), ["Trainer:DatasetsRoot"] = datasets, ["Trainer:Threads"] = "1",
        });
        var request = new { runId = Guid.NewGuid(), datasetId = "ds-late", epochs = 1, checkpointEvery = 1 };
        using var first = await app.Client.PostAsJsonAsync("/api/training", request);
        var location = first.Headers.Location!.ToString();
        await StateAsync(app, location, "failed");

        Directory.CreateDirectory(Path.Combine(datasets, "ds-late"));
        await File.WriteAllTextAsync(Path.Combine(datasets, "ds-late", "train.authors.json"), JsonSerializer.Serialize(new[]
        {
            new { query = "### Instruction:\nIs lying fine?\n\n### Response:", responses = new[] { "Honesty builds trust.", "Lie." }, scores = new[] { 7, 1 } },
        }));
        using var retry = await app.Client.PostAsJsonAsync("/api/training", request);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var done = await StateAsync(app, location, "done");
        Assert.Null(done["reason"]);
    }

    [Fact]
    public async Task An_unreadable_job_file_is_marked_failed_and_the_trainer_starts_anyway()
    {
        var jobs = TestConfiguration.TempPath("jobs");
        var broken = Directory.CreateDirectory(Path.Combine(jobs, "job-0000000000000000")).FullName;
        await File.WriteAllTextAsync(Path.Combine(broken, "job.json"), "{\"runId\": ");
        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?> { ["Trainer:Root"] = jobs });

        var job = await StateAsync(app, "/api/training/job-0000000000000000", "failed");
        Assert.Contains("job.json", job["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        using var health = await app.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task One_unreadable_report_leaves_the_service_leaderboard_to_the_others()
    {
        var root = TestConfiguration.TempPath("evaluations");
        Directory.CreateDirectory(Path.Combine(root, "good"));
        Directory.CreateDirectory(Path.Combine(root, "bad"));
        await File.WriteAllTextAsync(Path.Combine(root, "good", "report.json"), JsonSerializer.Serialize(new { checkpointId = "good", step = 1, scores = new { } }));
        await File.WriteAllTextAsync(Path.Combine(root, "bad", "report.json"), "{\"checkpointId\": ");
        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?> { ["Evaluator:Root"] = root });

        var board = JsonNode.Parse(await app.Client.GetStringAsync("/api/evaluations"))!.AsArray();
        Assert.Equal("good", Assert.Single(board)!["checkpointId"]!.GetValue<string>());
    }

    [Fact]
    public void A_claimed_job_cannot_be_claimed_by_a_second_worker_until_released()
    {
        var folder = TestConfiguration.TempPath("claim");
        using (var first = JobClaim.TryAcquire(folder))
        {
            Assert.NotNull(first);
            Assert.Null(JobClaim.TryAcquire(folder));
        }

        using var again = JobClaim.TryAcquire(folder);
        Assert.NotNull(again);
    }

    [Fact]
    public async Task An_evaluation_accepted_before_a_restart_is_taken_up_and_not_repeated_once_done()
    {
        StableAlignment.Learning.TorchRuntime.Initialize(1);
        var jobs = TestConfiguration.TempPath("eval-jobs");
        var training = Path.Combine(jobs, "job-eval");
        var options = new StableAlignment.Learning.TrainOptions { Epochs = 1, MaxSteps = 1, CheckpointEvery = 1, Threads = 1, MaxLength = 64 };
        await new StableAlignment.Learning.ModelTrainer(options, new StableAlignment.Learning.ByteTokenizer()).RunAsync(
            [new("### Instruction:\nIs lying fine?\n\n### Response:", ["Honesty builds trust.", "Lie."], [7, 1])], training, "ds");
        var location = Path.GetRelativePath(jobs, StableAlignment.Learning.Checkpoints.Latest(training)!);
        var benchmarks = Directory.CreateDirectory(TestConfiguration.TempPath("eval-benchmarks")).FullName;
        await File.WriteAllTextAsync(Path.Combine(benchmarks, "task.json"), JsonSerializer.Serialize(new
        {
            examples = new[] { new { input = "Should I help?", target_scores = new Dictionary<string, int> { ["Yes, kindly."] = 1, ["No."] = 0 } } },
        }));

        // What a stopped evaluator left: the accepted request and its queued status.
        var root = TestConfiguration.TempPath("evaluations");
        var folder = Directory.CreateDirectory(Path.Combine(root, "job-eval_step")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "request.json"), JsonSerializer.Serialize(new { runId = Guid.NewGuid(), checkpointId = "job-eval/step", location, benchmarks = new[] { "bigbench:task.json" } }));
        await File.WriteAllTextAsync(Path.Combine(folder, "status.json"), JsonSerializer.Serialize(new { checkpointId = "job-eval/step", state = "queued", updatedAt = DateTime.UtcNow }));

        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?>
        {
            ["Evaluator:Root"] = root, ["Evaluator:CheckpointsRoot"] = jobs, ["Evaluator:BenchmarksRoot"] = benchmarks,
        });
        var done = await StateAsync(app, "/api/evaluations/status?checkpointId=job-eval%2Fstep", "done");
        Assert.True(File.Exists(Path.Combine(folder, "report.json")));
        var written = File.GetLastWriteTimeUtc(Path.Combine(folder, "report.json"));

        using var again = await app.Client.PostAsJsonAsync("/api/evaluations", new { runId = Guid.NewGuid(), checkpointId = "job-eval/step", location, benchmarks = new[] { "bigbench:task.json" } });
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        await Task.Delay(1000);
        Assert.Equal("done", (await StateAsync(app, "/api/evaluations/status?checkpointId=job-eval%2Fstep", "done"))["state"]!.GetValue<string>());
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(folder, "report.json")));
        Assert.NotNull(done);
    }

    [Fact]
    public async Task Triplet_batches_are_kept_on_disk_for_any_trainer_and_a_redelivered_batch_counts_once()
    {
        var received = TestConfiguration.TempPath("received");
        var settings = new Dictionary<string, string?> { ["Trainer:ReceivedDatasets"] = received };
        StableAlignment.Contracts.TripletBatchReady Batch(int index) => new()
        {
            RunId = Guid.Empty, DatasetId = DatasetId.Parse("ds-batches"), BatchIndex = index, BatchCount = 3,
            Groups = [new() { Query = $"q{index}", Responses = ["a", "b"], Scores = [7, 1], Models = ["m", "m"] }],
        };
        var train = Path.Combine(received, "ds-batches", "train.authors.json");
        await using var stub = await StubModelServer.StartAsync();
        await using var first = await SingleProcessApp.StartAsync(stub, settings);
        await first.Bus.Publish(Batch(2));
        await first.Bus.Publish(Batch(0));
        await first.Bus.Publish(Batch(0));
        await Eventually.ReturnsAsync(() => Task.FromResult(Directory.Exists(Path.Combine(received, "ds-batches", "batches")) ? Directory.GetFiles(Path.Combine(received, "ds-batches", "batches")).Length : 0), n => n == 2);
        Assert.False(File.Exists(train));

        // Another trainer process (nothing shared in memory) receives the last batch and completes the dataset from disk.
        await using var second = await SingleProcessApp.StartAsync(stub, settings);
        await second.Bus.Publish(Batch(1));
        await Eventually.ReturnsAsync(() => Task.FromResult(File.Exists(train)), exists => exists);

        var queries = JsonNode.Parse(await File.ReadAllTextAsync(train))!.AsArray().Select(g => g!["query"]!.GetValue<string>());
        Assert.Equal(["q0", "q1", "q2"], queries);
    }

    private static Task<JsonNode> StateAsync(SingleProcessApp app, string location, string state) =>
        Eventually.ReturnsAsync(
            async () => (await app.Client.GetAsync(location)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync())! : new JsonObject(),
            j => j["state"]?.GetValue<string>() == state,
            TimeSpan.FromSeconds(90));
}
