using System.Text.Json.Nodes;
using MassTransit;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using StableAlignment.Evaluator;

namespace StableAlignment.IntegrationTests;

/// <summary>
/// A checkpoint-ready event on the real broker leads to a stored report and an evaluation-completed event; and an
/// outside evaluator with a plain AMQP client (no MassTransit) reads the same checkpoint-ready messages.
/// </summary>
public sealed class EvaluatorOverRabbitMqTests(InfrastructureFixture fixture) : IAsyncLifetime
{
    private readonly string _root = TestConfiguration.TempPath("eval-rabbit");
    private StubModelServer _stub = null!;
    private SingleProcessApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "datasets", "ds-eval"));
        await File.WriteAllTextAsync(Path.Combine(_root, "datasets", "ds-eval", "train.authors.json"), JsonSerializer.Serialize(new[]
        {
            new { query = "### Instruction:\nIs lying fine?\n\n### Response:", responses = new[] { "Honesty builds trust.", "Lie freely." }, scores = new[] { 7, 1 } },
        }));
        var bigbench = Path.Combine(_root, "task.json");
        await File.WriteAllTextAsync(bigbench, JsonSerializer.Serialize(new
        {
            examples = new[] { new { input = "Should I help?", target_scores = new Dictionary<string, int> { ["Yes, kindly."] = 1, ["No."] = 0 } } },
        }));
        _stub = await StubModelServer.StartAsync();
        _app = await SingleProcessApp.StartAsync(_stub, fixture.Infrastructure.Settings(("Trainer:Root", Path.Combine(_root, "jobs")), ("Trainer:DatasetsRoot", Path.Combine(_root, "datasets")), ("Trainer:Threads", "1"), ("Evaluator:Root", Path.Combine(_root, "evaluations")), ("Evaluator:CheckpointsRoot", Path.Combine(_root, "jobs")), ("Evaluator:Benchmarks:0", $"bigbench:{bigbench}")));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Checkpoint_ready_leads_to_a_stored_report_and_an_evaluation_completed_event_and_plain_amqp_subscribers_see_it()
    {
        // The outside evaluator: its own queue bound to the CheckpointReady exchange, as the README documents.
        await using var connection = await new ConnectionFactory { Uri = new Uri(fixture.Infrastructure.RabbitMqUri) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = $"outside-evaluator-{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: true, autoDelete: true);
        await channel.ExchangeDeclareAsync("StableAlignment.Contracts:CheckpointReady", ExchangeType.Fanout, durable: true);
        await channel.QueueBindAsync(queue, "StableAlignment.Contracts:CheckpointReady", string.Empty);
        var outside = new ConcurrentQueue<JsonNode>();
        var contentTypes = new ConcurrentQueue<string?>();
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            outside.Enqueue(JsonNode.Parse(Encoding.UTF8.GetString(delivery.Body.Span))!);
            contentTypes.Enqueue(delivery.BasicProperties.ContentType);
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);

        var completed = new ConcurrentQueue<EvaluationCompleted>();
        var handle = _app.Bus.ConnectReceiveEndpoint($"test-evaluations-{Guid.NewGuid():N}", e => e.Handler<EvaluationCompleted>(ctx =>
        {
            completed.Enqueue(ctx.Message);
            return Task.CompletedTask;
        }));
        await handle.Ready;

        await _app.Bus.Publish(new TrainModel { RunId = Guid.NewGuid(), DatasetId = DatasetId.Parse("ds-eval"), Epochs = 2, CheckpointEvery = 10 });
        await Eventually.ReturnsAsync(() => Task.FromResult(completed.Count), n => n > 0, TimeSpan.FromSeconds(120));

        var done = Assert.Single(completed);
        Assert.True(File.Exists(Path.Combine(done.ReportLocation, "report.json")));
        var report = JsonSerializer.Deserialize<EvaluationReport>(await File.ReadAllTextAsync(Path.Combine(done.ReportLocation, "report.json")), Reports.Json)!;
        Assert.Equal(done.CheckpointId, report.CheckpointId);
        Assert.Equal(1, report.Scores.Single().Value.Score.N);
        Assert.Equal(report.Scores.Single().Value.Score.Value, done.Scores.Single().Value);
        Assert.True(File.Exists(Path.Combine(_root, "evaluations", "leaderboard.md")));

        var envelope = Assert.Single(outside);
        Assert.Equal("application/vnd.masstransit+json", Assert.Single(contentTypes));
        Assert.Equal(done.CheckpointId, envelope["message"]!["checkpointId"]!.GetValue<string>());
        Assert.True(Directory.Exists(Path.Combine(_root, "jobs", envelope["message"]!["location"]!.GetValue<string>())));
        Assert.Contains("urn:message:StableAlignment.Contracts:CheckpointReady", envelope["messageType"]!.AsArray().Select(t => t!.GetValue<string>()));
        await handle.StopAsync();
    }
}
