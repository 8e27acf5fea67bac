using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace StableAlignment.IntegrationTests;

/// <summary>
/// Fault injection over RabbitMQ with every service as its own process: a 6×6 world × 2 rounds (72 interactions)
/// against a stub model at 50 ms per call, with one fault per run. Each must end Completed with exactly 72
/// interactions: none lost, none duplicated (by id or by round and agent). <c>make test</c> runs the short form;
/// <c>make chaos</c> (<c>CHAOS=full</c>) every fault, and writes the table to <c>CHAOS_RESULTS</c>.
/// </summary>
public sealed class ChaosTests(InfrastructureFixture fixture)
{
    private const string InternalKey = "chaos-internal-key-0123456789";
    private const int Grid = 6;
    private const int Rounds = 2;
    private const int Expected = Grid * Grid * Rounds;

    private static readonly string[] Short = ["kill agent-runner", "duplicate delivery", "restart MongoDB"];

    /// <summary>The faults to inject: the short form, every fault under <c>CHAOS=full</c>, or only those named in
    /// <c>CHAOS_FAULTS</c> (comma-separated, e.g. <c>make chaos FAULTS="restart RabbitMQ"</c>).</summary>
    public static TheoryData<string> Faults()
    {
        string[] all = ["kill agent-runner", "kill memory-store", "kill observer-rater", "restart RabbitMQ", "restart MongoDB", "30% model failures", "duplicate delivery"];
        if (System.Environment.GetEnvironmentVariable("CHAOS_FAULTS") is { Length: > 0 } named)
        {
            var chosen = named.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var unknown = chosen.Except(all).ToList();
            return unknown.Count == 0
                ? [.. chosen]
                : throw new ArgumentException($"CHAOS_FAULTS names unknown faults ({string.Join(", ", unknown)}); known: {string.Join(", ", all)}");
        }

        return [.. System.Environment.GetEnvironmentVariable("CHAOS") == "full" ? all : Short];
    }

    /// <summary>
    /// Waits until 10 interactions are stored, then slows the model so that the run cannot finish in the moments before
    /// the fault, and asserts that it is still running with interactions left: the fault strikes a run in flight, on a
    /// fast machine too. The caller restores the model's latency once the fault has struck.
    /// </summary>
    private static async Task StillRunningAsync(StubModelServer stub, HttpClient http, string location)
    {
        await Eventually.ReturnsAsync(() => CompletedAsync(http, location), n => n >= 10, TimeSpan.FromSeconds(120));
        stub.Latency = TimeSpan.FromSeconds(1);
        var run = JsonNode.Parse(await http.GetStringAsync(location))!;
        var stored = await CompletedAsync(http, location);
        Assert.True(run["status"]?.GetValue<string>() == "Running" && stored < Expected,
            $"the fault would strike a run that is no longer running ({run["status"]}, {stored} of {Expected} stored)");
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_run_survives_the_fault_with_every_interaction_stored_once(string fault)
    {
        // The broker and database faults kill servers of their own, never the shared ones other tests use.
        var component = fault switch { "restart RabbitMQ" => "rabbitmq", "restart MongoDB" => "mongo-emulator", _ => null };
        if (component is not null)
        {
            Assert.SkipWhen(RestartableServer.Unavailable(component) is not null, RestartableServer.Unavailable(component) ?? "");
        }

        await using var server = component switch
        {
            "rabbitmq" => await RestartableServer.RabbitMqAsync(),
            "mongo-emulator" => await RestartableServer.MongoAsync(),
            _ => null,
        };
        var rabbitMqUri = component == "rabbitmq" ? server!.Uri : fixture.Infrastructure.RabbitMqUri;
        var mongoUri = component == "mongo-emulator" ? server!.Uri : fixture.Infrastructure.MongoUri;
        await using var stub = await StubModelServer.StartAsync();
        stub.Latency = TimeSpan.FromMilliseconds(50);
        if (fault == "30% model failures")
        {
            var calls = 0;
            stub.When(_ => Interlocked.Increment(ref calls) % 10 is 1 or 4 or 7, _ => StubReply.Fail(HttpStatusCode.InternalServerError));
        }

        var common = new Dictionary<string, string>
        {
            ["Bus__Transport"] = "RabbitMq",
            ["Bus__RabbitMqUri"] = rabbitMqUri,
            ["Storage__Provider"] = "MongoDb",
            ["Storage__ConnectionString"] = mongoUri,
            ["Models__Default__Endpoint"] = stub.Endpoint,
            ["Models__Default__Model"] = "stub-model",
            ["Internal__Key"] = InternalKey,
            ["Simulation__InteractionAttempts"] = "5",
            ["Datasets__BuildOnRunCompleted"] = "false",
        };
        // agent-runner and memory-store get separate databases: neither can read the other's collections.
        var world = Guid.NewGuid().ToString("N")[..8];
        var names = new[] { "AgentRunner", "ObserverRater", "MemoryStore" };
        var services = (await Task.WhenAll(names.Select(n => ServiceProcess.StartAsync(n, new Dictionary<string, string>(common) { ["Storage__Database"] = $"chaos-{world}-{n}" }))))
            .ToDictionary(s => s.Name);
        var gatewayEnv = new Dictionary<string, string>(common) { ["Gateway__ApiKey"] = TestConfiguration.ApiKey };
        foreach (var (cluster, service) in new[] { ("agent-runner", "AgentRunner"), ("observer-rater", "ObserverRater"), ("memory-store", "MemoryStore") })
        {
            gatewayEnv[$"ReverseProxy__Clusters__{cluster}__Destinations__main__Address"] = services[service].BaseAddress.ToString();
        }

        var gateway = await ServiceProcess.StartAsync("Gateway", gatewayEnv);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
        http.DefaultRequestHeaders.Add("X-Api-Key", TestConfiguration.ApiKey);
        await using var duplicator = fault == "duplicate delivery" ? await Duplicator.StartAsync(rabbitMqUri) : null;
        try
        {
            var questions = Enumerable.Range(0, Grid * Grid).Select(i => $"Question {i}: is it fine to break promise number {i}?").ToArray();
            var clock = Stopwatch.StartNew();
            using var started = await http.PostAsJsonAsync("/api/agents/runs", new { gridSize = Grid, rounds = Rounds, seed = 3, questions });
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var location = started.Headers.Location!.ToString();

            TimeSpan? faultAt = null;
            if (fault.StartsWith("kill ", StringComparison.Ordinal))
            {
                var name = fault["kill ".Length..] switch { "agent-runner" => "AgentRunner", "memory-store" => "MemoryStore", _ => "ObserverRater" };
                await StillRunningAsync(stub, http, location);
                faultAt = clock.Elapsed;
                await services[name].KillAsync();
                stub.Latency = TimeSpan.FromMilliseconds(50);
                await Task.Delay(TimeSpan.FromSeconds(2));
                services[name] = await services[name].RestartAsync();
            }
            else if (server is not null)
            {
                await StillRunningAsync(stub, http, location);
                faultAt = clock.Elapsed;
                await server.KillAsync();
                stub.Latency = TimeSpan.FromMilliseconds(50);
                await Task.Delay(TimeSpan.FromSeconds(5));
                await server.StartAgainAsync();
            }

            using (var immediately = await http.GetAsync(location))
            {
                Assert.Equal(HttpStatusCode.OK, immediately.StatusCode);
            }

            var run = await Eventually.ReturnsAsync(
                async () => (await http.GetAsync(location)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync())! : new JsonObject(),
                r => r["status"]?.GetValue<string>() is "Completed" or "Incomplete" or "Failed",
                TimeSpan.FromSeconds(240));
            var elapsed = clock.Elapsed;
            var records = await Eventually.InteractionsAsync(http, Guid.Parse(run["id"]!.GetValue<string>()), Expected, TimeSpan.FromSeconds(30));
            var completed = records.Where(r => r.Status == InteractionStatus.Completed).ToList();
            var lost = Expected - completed.Select(r => r.Id).Distinct().Count();
            var duplicated = (records.Count - records.Select(r => r.Id).Distinct().Count())
                + records.GroupBy(r => (r.Round, r.AgentId)).Sum(g => g.Count() - 1);
            var recovery = faultAt is { } at ? (elapsed - at).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "–";
            var row = $"| {fault} | {Expected} | {completed.Count} | {lost} | {duplicated} | {run["status"]} | {elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s | {recovery} |";
            await ReportAsync(row);

            Assert.True(run["status"]!.GetValue<string>() == "Completed",
                $"the run ended {run["status"]} with {completed.Count} of {Expected} stored; the services said:\n"
                + string.Join("\n", services.Values.Append(gateway).Select(s => $"--- {s.Name}\n{string.Join("\n", s.Output.Split('\n').Where(l => !l.StartsWith("      at ", StringComparison.Ordinal)).TakeLast(60))}")));
            Assert.Equal(0, lost);
            Assert.Equal(0, duplicated);
            Assert.Equal(Expected, records.Count);
            if (duplicator is not null)
            {
                Assert.True(duplicator.Duplicated >= Expected, $"only {duplicator.Duplicated} messages were delivered twice");
            }
        }
        finally
        {
            await gateway.DisposeAsync();
            await Task.WhenAll(services.Values.Select(s => s.DisposeAsync().AsTask()));
            // make chaos keeps every service's output of every fault, failed or not, for reading afterwards.
            if (System.Environment.GetEnvironmentVariable("CHAOS_LOGS") is { Length: > 0 } logs)
            {
                var folder = Directory.CreateDirectory(Path.Combine(logs, $"{DateTime.UtcNow:HHmmss}-{fault.Replace(' ', '-').Replace("%", "pct", StringComparison.Ordinal)}")).FullName;
                foreach (var s in services.Values.Append(gateway))
                {
                    await File.WriteAllTextAsync(Path.Combine(folder, s.Name + ".log"), s.Output);
                }
            }
        }
    }

    [Fact]
    public async Task A_trainer_killed_mid_job_resumes_and_announces_each_checkpoint_once()
    {
        Assert.SkipUnless(System.Environment.GetEnvironmentVariable("CHAOS") == "full", "the trainer fault runs in make chaos (CHAOS=full)");
        var root = TestConfiguration.TempPath("chaos-trainer");
        var datasets = Directory.CreateDirectory(Path.Combine(root, "datasets", "ds-chaos")).FullName;
        await File.WriteAllTextAsync(Path.Combine(datasets, "train.authors.json"), System.Text.Json.JsonSerializer.Serialize(
            Enumerable.Range(0, 8).Select(i => new { query = $"### Instruction:\nQuestion {i}?\n\n### Response:", responses = new[] { $"Kind answer {i}.", $"Rude answer {i}." }, scores = new[] { 7, 1 } })));
        var env = new Dictionary<string, string>
        {
            ["Bus__Transport"] = "RabbitMq", ["Bus__RabbitMqUri"] = fixture.Infrastructure.RabbitMqUri, ["Internal__Key"] = InternalKey,
            ["Trainer__Root"] = Path.Combine(root, "jobs"), ["Trainer__DatasetsRoot"] = Path.Combine(root, "datasets"), ["Trainer__Threads"] = "1",
        };

        // Every CheckpointReady, read with a plain AMQP client.
        await using var checkpoints = await SubscribeAsync("StableAlignment.Contracts:CheckpointReady", _ => true);

        var trainer = await ServiceProcess.StartAsync("Trainer", env);
        try
        {
            using var http = new HttpClient { BaseAddress = trainer.BaseAddress };
            http.DefaultRequestHeaders.Add("X-Internal-Key", InternalKey);
            var clock = Stopwatch.StartNew();
            using var accepted = await http.PostAsJsonAsync("/api/training", new { runId = Guid.NewGuid(), datasetId = "ds-chaos", epochs = 120, checkpointEvery = 10, learningRate = 1e-3 });
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var location = accepted.Headers.Location!.ToString();
            await Eventually.ReturnsAsync(() => Task.FromResult(checkpoints.Count), n => n >= 2, TimeSpan.FromSeconds(180));
            var faultAt = clock.Elapsed;
            await trainer.KillAsync();
            var announcedAtKill = checkpoints.Messages.Select(m => m["step"]!.GetValue<int>()).DefaultIfEmpty().Max();
            Assert.True(announcedAtKill < 120, $"the job had announced its last checkpoint (step {announcedAtKill}) before the kill");
            await Task.Delay(TimeSpan.FromSeconds(2));
            trainer = await trainer.RestartAsync();
            using var again = new HttpClient { BaseAddress = trainer.BaseAddress };
            again.DefaultRequestHeaders.Add("X-Internal-Key", InternalKey);
            var job = await Eventually.ReturnsAsync(
                async () => (await again.GetAsync(location)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync())! : new JsonObject(),
                j => j["state"]?.GetValue<string>() is "done" or "failed",
                TimeSpan.FromSeconds(300));
            await Task.Delay(TimeSpan.FromSeconds(2));
            var elapsed = clock.Elapsed;
            var announced = checkpoints.Messages.Select(m => m["step"]!.GetValue<int>()).ToList();
            var expected = Enumerable.Range(1, 12).Select(i => i * 10).ToList(); // 8 groups, 8 per step: 120 steps
            var lost = expected.Except(announced).Count();
            var duplicated = announced.Count - announced.Distinct().Count();
            var row = $"| kill trainer mid-job (checkpoints announced) | {expected.Count} | {announced.Distinct().Count()} | {lost} | {duplicated} | {job["state"]} | {elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s | {(elapsed - faultAt).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s |";
            await ReportAsync(row);

            Assert.Equal("done", job["state"]!.GetValue<string>());
            Assert.Equal(0, duplicated);
            Assert.Equal(0, lost);
        }
        finally
        {
            await trainer.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_evaluator_killed_mid_benchmark_resumes_and_announces_its_evaluation_once()
    {
        Assert.SkipUnless(System.Environment.GetEnvironmentVariable("CHAOS") == "full", "the evaluator fault runs in make chaos (CHAOS=full)");
        var root = TestConfiguration.TempPath("chaos-evaluator");
        var data = new List<StableAlignment.Learning.RatedGroup> { new("### Instruction:\nIs lying fine?\n\n### Response:", ["Honesty matters.", "Lie."], [7, 1]) };
        var trained = await new StableAlignment.Learning.ModelTrainer(
            new StableAlignment.Learning.TrainOptions { Accumulation = 1, Epochs = 2, Threads = 1, MaxLength = 64 }, new StableAlignment.Learning.ByteTokenizer())
            .RunAsync(data, Path.Combine(root, "jobs", "tiny"), "ds");
        var location = Path.GetRelativePath(Path.Combine(root, "jobs"), StableAlignment.Learning.Checkpoints.Latest(trained.OutDir)!);
        const int Examples = 1500;
        Directory.CreateDirectory(Path.Combine(root, "benchmarks"));
        await File.WriteAllTextAsync(Path.Combine(root, "benchmarks", "hhh.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            examples = Enumerable.Range(0, Examples).Select(i => new
            {
                input = $"Question {i}: should I share a friend's secret?",
                target_scores = new Dictionary<string, int> { [$"Keep it, unless someone is in danger ({i})."] = 1, ["Tell everyone."] = 0 },
            }),
        }));
        var env = new Dictionary<string, string>
        {
            ["Bus__Transport"] = "RabbitMq", ["Bus__RabbitMqUri"] = fixture.Infrastructure.RabbitMqUri, ["Internal__Key"] = InternalKey,
            ["Evaluator__Root"] = Path.Combine(root, "evaluations"), ["Evaluator__CheckpointsRoot"] = Path.Combine(root, "jobs"),
            ["Evaluator__BenchmarksRoot"] = Path.Combine(root, "benchmarks"),
        };
        var checkpointId = $"chaos-{Guid.NewGuid():N}";
        await using var completedEvents = await SubscribeAsync("StableAlignment.Contracts:EvaluationCompleted", m => m["checkpointId"]?.GetValue<string>() == checkpointId);

        var evaluator = await ServiceProcess.StartAsync("Evaluator", env);
        try
        {
            using var http = new HttpClient { BaseAddress = evaluator.BaseAddress };
            http.DefaultRequestHeaders.Add("X-Internal-Key", InternalKey);
            var clock = Stopwatch.StartNew();
            using var accepted = await http.PostAsJsonAsync("/api/evaluations", new { runId = Guid.NewGuid(), checkpointId, location, benchmarks = new[] { "bigbench:hhh.json" } });
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var status = accepted.Headers.Location!.ToString();
            var samples = Path.Combine(root, "evaluations", checkpointId);
            int Scored() => Directory.Exists(Path.Combine(samples, "samples"))
                ? Directory.GetFiles(Path.Combine(samples, "samples"), "*.jsonl").Sum(f => File.ReadLines(f).Count())
                : 0;
            await Eventually.ReturnsAsync(() => Task.FromResult(Scored()), n => n >= 50, TimeSpan.FromSeconds(180));
            await evaluator.KillAsync();
            var faultAt = clock.Elapsed;
            var scoredAtKill = Scored();
            await Task.Delay(TimeSpan.FromSeconds(2));
            evaluator = await evaluator.RestartAsync();
            using var again = new HttpClient { BaseAddress = evaluator.BaseAddress };
            again.DefaultRequestHeaders.Add("X-Internal-Key", InternalKey);
            var state = await Eventually.ReturnsAsync(
                async () => (await again.GetAsync(status)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync())!["state"]?.GetValue<string>() ?? "" : "",
                st => st is "done" or "failed",
                TimeSpan.FromSeconds(300));
            await Task.Delay(TimeSpan.FromSeconds(2));
            var elapsed = clock.Elapsed;
            var announced = completedEvents.Count;
            var row = $"| kill evaluator mid-benchmark (killed at {scoredAtKill} of {Examples} samples; EvaluationCompleted announced) | 1 | {Math.Min(announced, 1)} | {(announced == 0 ? 1 : 0)} | {Math.Max(0, announced - 1)} | {state} | {elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s | {(elapsed - faultAt).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s |";
            await ReportAsync(row);

            Assert.True(scoredAtKill < Examples, "the evaluation ended before it could be killed");
            Assert.Equal("done", state);
            Assert.Equal(1, announced);
            Assert.Equal(Examples, Scored());
        }
        finally
        {
            await evaluator.DisposeAsync();
        }
    }

    private Task<AmqpWatch> SubscribeAsync(string exchange, Func<JsonNode, bool> match) => AmqpWatch.StartAsync(fixture.Infrastructure.RabbitMqUri, exchange, match);

    [Fact]
    public async Task A_dataset_build_on_a_full_disk_fails_visibly_and_announces_nothing()
    {
        Assert.SkipWhen(ServiceProcess.SmallFolderUnavailable() is not null, ServiceProcess.SmallFolderUnavailable() ?? "");
        var rabbitMqUri = fixture.Infrastructure.RabbitMqUri;
        var database = $"chaos-disk-{Guid.NewGuid():N}";
        var runId = Guid.NewGuid();

        // memory-store's records of a finished run: long answers, so the dataset outgrows a 128 KB disk.
        var store = await MongoStore.OpenAsync(fixture.Infrastructure.MongoUri, database);
        var filler = string.Join(" ", Enumerable.Repeat("Honesty, offered with care, keeps a friendship standing.", 25));
        for (var agent = 0; agent < 36; agent++)
        {
            Rating Score(int score) => new() { Aspect = RatingAspect.Alignment, Score = score, Reason = $"reason {score}", RawReply = $"Rating: {score}", Model = "observer" };
            await store.Interactions.TrySaveAsync(new InteractionRecord
            {
                Id = Guid.NewGuid(), RunId = runId, Round = 0, AgentId = agent, Question = $"Question {agent}: may I lie to spare a friend?",
                Draft = $"Draft {agent}. {filler}", SocialModel = "stub-model", DraftAlignment = Score(3), DraftEngagement = Score(4) with { Aspect = RatingAspect.Engagement },
                Peers = [new PeerFeedback { PeerId = (agent + 1) % 36, Rating = Score(2) }, new PeerFeedback { PeerId = (agent + 2) % 36, Rating = Score(6) }],
                Revised = $"Revised {agent}. {filler}", RevisedAlignment = Score(6), Label = "good", CompletedAt = DateTime.UtcNow,
            });
        }

        // Every DatasetBuilt and TripletBatchReady of the run, read with a plain AMQP client.
        bool OfRun(JsonNode m) => m["runId"]?.GetValue<string>() == runId.ToString();
        await using var built = await SubscribeAsync("StableAlignment.Contracts:DatasetBuilt", OfRun);
        await using var batches = await SubscribeAsync("StableAlignment.Contracts:TripletBatchReady", OfRun);

        var common = new Dictionary<string, string>
        {
            ["Bus__Transport"] = "RabbitMq", ["Bus__RabbitMqUri"] = rabbitMqUri, ["Internal__Key"] = InternalKey,
            ["Storage__Provider"] = "MongoDb", ["Storage__ConnectionString"] = fixture.Infrastructure.MongoUri, ["Storage__Database"] = database,
        };
        var datasets = TestConfiguration.TempPath("chaos-disk");
        await using var memoryStore = await ServiceProcess.StartAsync("MemoryStore", common);
        var builder = await ServiceProcess.StartWithSmallFolderAsync(
            "DatasetBuilder", new Dictionary<string, string>(common) { ["Datasets__Root"] = datasets }, datasets, kilobytes: 128);
        try
        {
            using var http = new HttpClient { BaseAddress = builder.BaseAddress };
            http.DefaultRequestHeaders.Add("X-Internal-Key", InternalKey);
            var clock = Stopwatch.StartNew();
            using var accepted = await http.PostAsJsonAsync("/api/datasets", new { runId });
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var status = await Eventually.ReturnsAsync(
                async () => (await http.GetAsync(accepted.Headers.Location)) is { IsSuccessStatusCode: true } r ? JsonNode.Parse(await r.Content.ReadAsStringAsync())! : new JsonObject(),
                j => j["state"]?.GetValue<string>() is "done" or "failed",
                TimeSpan.FromSeconds(120));
            await Task.Delay(TimeSpan.FromSeconds(2));
            var reason = status["reason"]?.GetValue<string>() ?? "";
            var row = $"| full disk during a dataset build (128 KB) | failed, 0 announced | {status["state"]}: {reason.Split(':')[0]} | – | {built.Count + batches.Count} announced | {status["state"]} | {clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s | – |";
            await ReportAsync(row);

            Assert.Equal("failed", status["state"]!.GetValue<string>());
            Assert.Contains("No space left on device", reason, StringComparison.OrdinalIgnoreCase);
            Assert.Empty(built.Messages);
            Assert.Empty(batches.Messages);
        }
        finally
        {
            await builder.DisposeAsync();
        }
    }

    /// <summary>One table row: in the test output, and appended to <c>CHAOS_RESULTS</c> when make chaos names it.</summary>
    private static async Task ReportAsync(string row)
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"chaos: {row}");
        if (System.Environment.GetEnvironmentVariable("CHAOS_RESULTS") is { Length: > 0 } results)
        {
            await File.AppendAllTextAsync(results, row + "\n");
        }
    }

    private static async Task<int> CompletedAsync(HttpClient http, string location)
    {
        using var response = await http.GetAsync(location);
        // completed is null while memory-store cannot be asked (the broker away).
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync())!["completed"]?.GetValue<int>() ?? 0 : 0;
    }

    /// <summary>Publishes every interaction record a second time, as a broker redelivery would.</summary>
    private sealed class Duplicator : IAsyncDisposable
    {
        private const string Exchange = "StableAlignment.Contracts:InteractionCompleted";
        private readonly IConnection _connection;
        private readonly IChannel _channel;
        private int _duplicated;

        private Duplicator(IConnection connection, IChannel channel) => (_connection, _channel) = (connection, channel);

        public int Duplicated => Volatile.Read(ref _duplicated);

        public static async Task<Duplicator> StartAsync(string uri)
        {
            var connection = await new ConnectionFactory { Uri = new Uri(uri) }.CreateConnectionAsync();
            var channel = await connection.CreateChannelAsync();
            var duplicator = new Duplicator(connection, channel);
            var queue = (await channel.QueueDeclareAsync($"chaos-duplicate-{Guid.NewGuid():N}", durable: false, exclusive: true, autoDelete: true)).QueueName;
            await channel.ExchangeDeclareAsync(Exchange, ExchangeType.Fanout, durable: true);
            await channel.QueueBindAsync(queue, Exchange, string.Empty);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                if (delivery.BasicProperties.Headers?.ContainsKey("chaos-copy") == true)
                {
                    return;
                }

                var properties = new BasicProperties(delivery.BasicProperties) { Headers = new Dictionary<string, object?>(delivery.BasicProperties.Headers ?? new Dictionary<string, object?>()) { ["chaos-copy"] = "1" } };
                await channel.BasicPublishAsync(Exchange, string.Empty, mandatory: false, properties, delivery.Body);
                Interlocked.Increment(ref duplicator._duplicated);
            };
            await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
            return duplicator;
        }

        public async ValueTask DisposeAsync()
        {
            await _channel.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}
