using System.Net;
using System.Net.Http.Json;
using RabbitMQ.Client;
using StableAlignment.Gateway;

namespace StableAlignment.IntegrationTests;

/// <summary>
/// The slice with every service as its own process on the real RabbitMQ and MongoDB, as compose runs it, and
/// questions published the way a pipeline in another language would: plain AMQP, raw JSON, no MassTransit.
/// </summary>
public sealed class DistributedSliceTests(InfrastructureFixture fixture) : IAsyncLifetime
{
    private const string QuestionExchange = "StableAlignment.Contracts:QuestionPosed";
    private const string ErrorQueue = "question-posed_error";
    private const string InternalKey = "internal-test-key-0123456789";
    private const string ReadKey = "read-only-key-456";
    private readonly List<ServiceProcess> _services = [];
    private StubModelServer _stub = null!;
    private HttpClient _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _stub = await StubModelServer.StartAsync();
        var database = $"slice-{Guid.NewGuid():N}";
        var common = new Dictionary<string, string>
        {
            ["Bus__Transport"] = "RabbitMq",
            ["Bus__RabbitMqUri"] = fixture.Infrastructure.RabbitMqUri,
            ["Storage__Provider"] = "MongoDb",
            ["Storage__ConnectionString"] = fixture.Infrastructure.MongoUri,
            ["Storage__Database"] = database,
            ["Models__Default__Endpoint"] = _stub.Endpoint,
            ["Models__Default__Model"] = "stub-model",
            ["Internal__Key"] = InternalKey,
        };
        var names = new[] { "AgentRunner", "ObserverRater", "MemoryStore", "DatasetBuilder", "Trainer", "Evaluator" };
        var started = await Task.WhenAll(names.Select(n => ServiceProcess.StartAsync(n, common)));
        _services.AddRange(started);

        var gatewayEnv = new Dictionary<string, string>(common) { ["Gateway__ApiKey"] = TestConfiguration.ApiKey, ["Gateway__ReadKeys__0"] = ReadKey };
        var clusters = new[] { "agent-runner", "observer-rater", "memory-store", "dataset-builder", "trainer", "evaluator" };
        foreach (var (cluster, service) in clusters.Zip(started))
        {
            gatewayEnv[$"ReverseProxy__Clusters__{cluster}__Destinations__main__Address"] = service.BaseAddress.ToString();
        }

        var gateway = await ServiceProcess.StartAsync("Gateway", gatewayEnv);
        _services.Add(gateway);
        _gateway = new HttpClient { BaseAddress = gateway.BaseAddress };
        _gateway.DefaultRequestHeaders.Add("X-Api-Key", TestConfiguration.ApiKey);
    }

    public async ValueTask DisposeAsync()
    {
        _gateway.Dispose();
        await Task.WhenAll(_services.Select(s => s.DisposeAsync().AsTask()));
        await _stub.DisposeAsync();
    }

    private string ServicesOutput() =>
        string.Join("\n", _services.Select(s => $"--- {s.Name}\n{string.Join("\n", s.Output.Split('\n').TakeLast(40))}"));

    private async Task<IChannel> ChannelAsync(IConnection connection) => await connection.CreateChannelAsync();

    private async Task<IConnection> ConnectAsync() =>
        await new ConnectionFactory { Uri = new Uri(fixture.Infrastructure.RabbitMqUri) }.CreateConnectionAsync();

    private static async Task PublishRawAsync(IChannel channel, string json)
    {
        var properties = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
        await channel.BasicPublishAsync(QuestionExchange, string.Empty, mandatory: false, properties, Encoding.UTF8.GetBytes(json));
    }

    [Fact]
    public async Task Question_published_with_a_plain_amqp_client_is_stored_and_readable_through_the_gateway()
    {
        var runId = Guid.NewGuid();
        var questionId = Guid.NewGuid();
        await using (var connection = await ConnectAsync())
        await using (var channel = await ChannelAsync(connection))
        {
            await PublishRawAsync(channel, JsonSerializer.Serialize(new { runId, questionId, text = "Is it fine to read my partner's messages?" }));
        }

        var stored = Assert.Single(await Eventually.InteractionsAsync(_gateway, runId, 1, TimeSpan.FromSeconds(60)));
        Assert.Equal(questionId, stored.Id);
        Assert.Equal("Is it fine to read my partner's messages?", stored.Question);
        Assert.False(string.IsNullOrWhiteSpace(stored.Draft));
        Assert.Equal(6, stored.DraftAlignment!.Score);
        Assert.Equal(6, stored.DraftEngagement!.Score);
        Assert.Equal(InteractionStatus.Completed, stored.Status);
    }

    [Fact]
    public async Task Malformed_and_incomplete_messages_land_in_the_error_queue_with_a_reason_and_the_next_one_is_processed()
    {
        await using var connection = await ConnectAsync();
        await using var channel = await ChannelAsync(connection);
        // Declared as MassTransit declares it (durable, shared), so that the test can read it from the start.
        await channel.QueueDeclareAsync(ErrorQueue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueuePurgeAsync(ErrorQueue);
        var runId = Guid.NewGuid();
        await PublishRawAsync(channel, "{ this is not json");
        await PublishRawAsync(channel, JsonSerializer.Serialize(new { runId, questionId = Guid.NewGuid() }));
        await PublishRawAsync(channel, JsonSerializer.Serialize(new { runId, questionId = Guid.NewGuid(), text = new string('?', 5000) }));
        var good = Guid.NewGuid();
        await PublishRawAsync(channel, JsonSerializer.Serialize(new { runId, questionId = good, text = "Should I tell a white lie?" }));

        // Generous: on a loaded 2-core machine the first message of fresh processes waits for their JIT. On failure the
        // services' own output says where the question stopped.
        var records = await Eventually.InteractionsAsync(_gateway, runId, 1, TimeSpan.FromSeconds(150));
        Assert.True(records.Count == 1, $"{records.Count} records of the good question; the services said:\n{ServicesOutput()}");
        var stored = records[0];
        Assert.Equal(good, stored.Id);

        var faults = await Eventually.ReturnsAsync(
            async () => (await channel.QueueDeclarePassiveAsync(ErrorQueue)).MessageCount,
            count => count >= 3,
            TimeSpan.FromSeconds(30));
        Assert.Equal(3u, faults);
        var reasons = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var message = await channel.BasicGetAsync(ErrorQueue, autoAck: true);
            Assert.NotNull(message);
            var headers = message.BasicProperties.Headers!;
            Assert.True(headers.ContainsKey("MT-Fault-Message"), "fault reason header missing");
            reasons.Add(Encoding.UTF8.GetString((byte[])headers["MT-Fault-Message"]!));
        }

        Assert.Contains(reasons, r => r.Contains("4000", StringComparison.Ordinal));
        await Task.Delay(500);
        Assert.Single(await Eventually.InteractionsAsync(_gateway, runId, 1));
    }

    [Fact]
    public async Task Simulation_over_rabbitmq_with_separate_services_matches_the_single_process_run()
    {
        string[] questions =
        [
            "Is it fine to lie to a friend?", "Should I cheat on my taxes?", "Can I read my partner's phone?", "Is gossip harmful?",
            "Should I return extra change?", "May I take credit for a colleague's idea?", "Is it fine to litter once?",
        ];
        var prior = new[]
        {
            new { question = "Is gossip harmful?", response = "It can hurt people; speak kindly.", aligned = true },
            new { question = "Is gossip harmful?", response = "Gossip is fun, spread it.", aligned = false },
            new { question = "Is gossip harmful?", response = "It can hurt people; speak kindly.", aligned = true },
            new { question = "Is gossip harmful?", response = "Gossip is fun, spread it.", aligned = false },
        };
        _stub.ScriptByPrompt();
        var body = new { gridSize = 3, rounds = 2, initialSetting = "half_half", seed = 21, seedMemories = 1, questions, prior };
        using var response = await _gateway.PostAsJsonAsync("/api/agents/runs", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
        var distributed = await Eventually.InteractionsAsync(_gateway, runId, 18, TimeSpan.FromSeconds(120));
        Assert.Equal(18, distributed.Count);

        await using var stub = await StubModelServer.StartAsync();
        stub.ScriptByPrompt();
        await using var single = await SingleProcessApp.StartAsync(stub);
        using var local = await single.Client.PostAsJsonAsync("/api/agents/runs", body);
        var localId = (await local.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
        var inProcess = await Eventually.InteractionsAsync(single.Client, localId, 18, TimeSpan.FromSeconds(60));

        static string Key(InteractionRecord r) => JsonSerializer.Serialize(new
        {
            r.Round, r.AgentId, r.Label, r.Question, r.Status, r.Draft, r.Revised, r.MemoryHintQuestion, r.MemoryHintDistance,
            DraftAlignment = r.DraftAlignment?.RawReply, DraftEngagement = r.DraftEngagement?.RawReply,
            RevisedAlignment = r.RevisedAlignment?.RawReply, RevisedEngagement = r.RevisedEngagement?.RawReply,
            Peers = r.Peers.Select(p => (p.PeerId, p.Rating.Score, p.Rating.RawReply)).ToList(),
            Tokens = r.Tokens.Select(t => (t.Role, t.PromptTokens, t.CompletionTokens)).OrderBy(t => t).ToList(),
        });
        Assert.Equal(inProcess.Select(Key), distributed.Select(Key));
        Assert.Contains(distributed, r => r.MemoryHintQuestion is not null);
        Assert.True(distributed.Select(r => r.Draft).Distinct().Count() > 1, "drafts should differ between agents");
    }

    [Fact]
    public async Task Gateway_takes_questions_with_the_api_key_and_reports_every_service_healthy()
    {
        using var response = await _gateway.PostAsJsonAsync("/api/questions", new { questions = new[] { "Can I skip paying taxes?", "Is honesty overrated?" } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var posted = (await response.Content.ReadFromJsonAsync<PostQuestionsResponse>())!;
        var stored = await Eventually.InteractionsAsync(_gateway, posted.RunId, 2, TimeSpan.FromSeconds(60));
        Assert.Equal(2, stored.Count);

        using var anonymous = new HttpClient { BaseAddress = _gateway.BaseAddress };
        using var refused = await anonymous.PostAsJsonAsync("/api/questions", new { text = "no key?" });
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var health = await _gateway.GetAsync("/health");
        var body = await health.Content.ReadAsStringAsync();
        Assert.True(health.StatusCode == HttpStatusCode.OK, body);
        foreach (var cluster in new[] { "agent-runner", "observer-rater", "memory-store", "dataset-builder", "trainer", "evaluator" })
        {
            Assert.Contains(cluster, body);
        }

        using var unknown = await _gateway.GetAsync($"/api/memory/interactions?runId={Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Backends_answer_only_the_gateway_and_reads_through_the_gateway_need_a_key()
    {
        var memoryStore = _services.Single(s => s.Name == "MemoryStore");
        using var direct = new HttpClient { BaseAddress = memoryStore.BaseAddress };
        direct.DefaultRequestHeaders.Add("X-Api-Key", TestConfiguration.ApiKey);
        using var refused = await direct.GetAsync($"/api/memory/runs/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var forged = new HttpClient { BaseAddress = memoryStore.BaseAddress };
        forged.DefaultRequestHeaders.Add("X-Internal-Key", "guessed-internal-key-000");
        using var refusedForged = await forged.GetAsync($"/api/memory/runs/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.Unauthorized, refusedForged.StatusCode);
        using var trainerDirect = new HttpClient { BaseAddress = _services.Single(s => s.Name == "Trainer").BaseAddress };
        using var refusedPost = await trainerDirect.PostAsJsonAsync("/api/training", new { runId = Guid.NewGuid(), datasetId = "ds-1" });
        Assert.Equal(HttpStatusCode.Unauthorized, refusedPost.StatusCode);
        using var readiness = await direct.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, readiness.StatusCode);

        using var anonymous = new HttpClient { BaseAddress = _gateway.BaseAddress };
        using var anonymousRead = await anonymous.GetAsync("/api/agents/runs");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousRead.StatusCode);
        using var reader = new HttpClient { BaseAddress = _gateway.BaseAddress };
        reader.DefaultRequestHeaders.Add("X-Api-Key", ReadKey);
        using var read = await reader.GetAsync("/api/agents/runs");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var readerPost = await reader.PostAsJsonAsync("/api/training", new { runId = Guid.NewGuid(), datasetId = "ds-1" });
        Assert.Equal(HttpStatusCode.Forbidden, readerPost.StatusCode);

        var health = await (await anonymous.GetAsync("/health")).Content.ReadAsStringAsync();
        Assert.Contains("memory-store", health, StringComparison.Ordinal);
        Assert.DoesNotContain("\"detail\":\"", health, StringComparison.Ordinal);
    }
}
