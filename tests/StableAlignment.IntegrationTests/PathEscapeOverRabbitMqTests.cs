using RabbitMQ.Client;

namespace StableAlignment.IntegrationTests;

/// <summary>
/// Messages published with a plain AMQP client that name a path outside the configured roots fault to the consumer's
/// error queue with the field named, and nothing is written outside the roots.
/// </summary>
public sealed class PathEscapeOverRabbitMqTests(InfrastructureFixture fixture) : IAsyncLifetime
{
    private readonly EscapingNames _names = new("escape-amqp");
    private StubModelServer _stub = null!;
    private SingleProcessApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        _stub = await StubModelServer.StartAsync();
        _app = await SingleProcessApp.StartAsync(_stub, fixture.Infrastructure.Settings(
            ("Trainer:ModelsRoot", _names.Root("models")), ("Trainer:DatasetsRoot", _names.Root("datasets")), ("Trainer:ReceivedDatasets", _names.Root("datasets")),
            ("Trainer:Root", _names.Root("checkpoints")), ("Evaluator:CheckpointsRoot", _names.Root("checkpoints")),
            ("Evaluator:BenchmarksRoot", _names.Root("benchmarks")), ("Evaluator:Root", Path.Combine(_names.Top, "evaluations"))));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Raw_messages_with_escaping_names_fault_naming_the_field_and_write_nothing_outside()
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(fixture.Infrastructure.RabbitMqUri) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var cases = new List<(string Exchange, string ErrorQueue, string Field, object Body)>();
        foreach (var form in _names.Forms)
        {
            cases.Add(("TrainModel", "train-model_error", "baseModel", new { runId = Guid.NewGuid(), datasetId = "ds-1", baseModel = form }));
            cases.Add(("TrainModel", "train-model_error", "datasetId", new { runId = Guid.NewGuid(), datasetId = form }));
            cases.Add(("EvaluateCheckpoint", "evaluate-checkpoint_error", "location", new { runId = Guid.NewGuid(), checkpointId = "c", location = form }));
            cases.Add(("EvaluateCheckpoint", "evaluate-checkpoint_error", "benchmarks[0]", new { runId = Guid.NewGuid(), checkpointId = "c", location = "job-1/checkpoint-1", benchmarks = new[] { $"bigbench:{form}" } }));
            cases.Add(("CheckpointReady", "checkpoint-ready_error", "location", new { runId = Guid.NewGuid(), checkpointId = "c", location = form, baseModel = "tiny", datasetId = "d", step = 1 }));
            cases.Add(("TripletBatchReady", "triplet-batch_error", "datasetId", new { runId = Guid.NewGuid(), datasetId = form, batchIndex = 0, batchCount = 1, groups = Array.Empty<object>() }));
        }

        var queues = cases.Select(c => c.ErrorQueue).Distinct().ToList();
        foreach (var queue in queues)
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
            await channel.QueuePurgeAsync(queue);
        }

        foreach (var (exchange, _, _, body) in cases)
        {
            var properties = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
            await channel.BasicPublishAsync($"StableAlignment.Contracts:{exchange}", string.Empty, mandatory: false, properties, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body)));
        }

        foreach (var queue in queues)
        {
            var expected = cases.Where(c => c.ErrorQueue == queue).ToList();
            var count = await Eventually.ReturnsAsync(
                async () => (await channel.QueueDeclarePassiveAsync(queue)).MessageCount, n => n >= expected.Count, TimeSpan.FromSeconds(60));
            Assert.Equal((uint)expected.Count, count);
            var reasons = new List<string>();
            for (var i = 0; i < expected.Count; i++)
            {
                var message = await channel.BasicGetAsync(queue, autoAck: true);
                reasons.Add(Encoding.UTF8.GetString((byte[])message!.BasicProperties.Headers!["MT-Fault-Message"]!));
            }

            foreach (var field in expected.Select(c => c.Field).Distinct())
            {
                Assert.Equal(expected.Count(c => c.Field == field), reasons.Count(r => r.Contains($"{field}:", StringComparison.Ordinal) || r.Contains($"{field} '", StringComparison.Ordinal)));
            }
        }

        Assert.Equal(["config.json", "secret.json"], Directory.GetFileSystemEntries(_names.Outside).Select(Path.GetFileName).Order());
        Assert.False(Directory.Exists(Path.Combine(_names.Top, "evaluations", "c")));
    }
}
