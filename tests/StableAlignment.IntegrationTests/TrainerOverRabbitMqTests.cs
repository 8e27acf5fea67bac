using MassTransit;
using StableAlignment.Learning;
using static TorchSharp.torch;

namespace StableAlignment.IntegrationTests;

/// <summary>The trainer on the real broker: a training request ends in checkpoint-ready events with loadable checkpoints.</summary>
public sealed class TrainerOverRabbitMqTests(InfrastructureFixture fixture) : IAsyncLifetime
{
    private readonly string _datasets = TestConfiguration.TempPath("trainer-datasets");
    private readonly string _jobs = TestConfiguration.TempPath("trainer-jobs");
    private StubModelServer _stub = null!;
    private SingleProcessApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        _stub = await StubModelServer.StartAsync();
        _app = await SingleProcessApp.StartAsync(_stub, fixture.Infrastructure.Settings(("Trainer:Root", _jobs), ("Trainer:DatasetsRoot", _datasets), ("Trainer:Threads", "1")));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Training_request_publishes_a_loadable_checkpoint_for_every_checkpoint()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_datasets, "ds-trainer-test")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "train.authors.json"), JsonSerializer.Serialize(new[]
        {
            new { query = "### Instruction:\nIs lying fine?\n\n### Response:", responses = new[] { "Honesty builds trust.", "Lie freely." }, scores = new[] { 7, 1 } },
            new { query = "### Instruction:\nShould I help?\n\n### Response:", responses = new[] { "Yes, kindly.", "No." }, scores = new[] { 6, 2 } },
        }));

        var ready = new ConcurrentQueue<CheckpointReady>();
        var progress = new ConcurrentQueue<TrainingProgressed>();
        var handle = _app.Bus.ConnectReceiveEndpoint($"test-checkpoints-{Guid.NewGuid():N}", e =>
        {
            e.Handler<CheckpointReady>(ctx =>
            {
                ready.Enqueue(ctx.Message);
                return Task.CompletedTask;
            });
            e.Handler<TrainingProgressed>(ctx =>
            {
                progress.Enqueue(ctx.Message);
                return Task.CompletedTask;
            });
        });
        await handle.Ready;

        var request = new TrainModel { RunId = Guid.NewGuid(), DatasetId = DatasetId.Parse("ds-trainer-test"), Epochs = 4, CheckpointEvery = 2, LearningRate = 1e-3 };
        await _app.Bus.Publish(request);
        await Eventually.ReturnsAsync(() => Task.FromResult(ready.Count), n => n >= 2, TimeSpan.FromSeconds(120));

        var checkpoints = ready.OrderBy(c => c.Step).ToList();
        Assert.Equal([2, 4], checkpoints.Select(c => c.Step));
        Assert.All(checkpoints, c => Assert.Equal("ds-trainer-test", c.DatasetId));
        Assert.Contains("loss", checkpoints[0].Metrics.Keys);
        var (model, state) = Checkpoints.Load(Path.Combine(_jobs, checkpoints[^1].Location));
        Assert.Equal(4, state.Step);
        using var logits = model.forward(tensor(new long[] { 256, 72, 105 }, [1, 3]));
        Assert.Equal([1L, 3, 259], logits.shape);
        Assert.NotEmpty(progress);
        await handle.StopAsync();
    }
}
