using MassTransit;
using StableAlignment.DatasetBuilder;

namespace StableAlignment.IntegrationTests;

/// <summary>dataset-builder on the real broker: a run's dataset reaches a consumer as ordered, complete triplet batches.</summary>
public sealed class TripletBatchTests(InfrastructureFixture fixture) : IAsyncLifetime
{
    private StubModelServer _stub = null!;
    private SingleProcessApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        _stub = await StubModelServer.StartAsync();
        _stub.ScriptByPrompt();
        _app = await SingleProcessApp.StartAsync(_stub, fixture.Infrastructure.Settings(("Datasets:Root", TestConfiguration.TempPath("datasets")), ("Datasets:BuildOnRunCompleted", "false"), ("Datasets:Delivery", "Batches")));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Batches_arrive_in_order_and_complete_and_a_redelivered_one_is_not_counted_twice()
    {
        string[] questions = ["Is it fine to lie?", "Should I share secrets?", "Is gossip harmful?", "Can I skip class?", "Should I pay back debts?"];
        var simulation = Simulations.Message(2, 2, questions);
        var (_, records) = await Simulations.RunAsync(_app, simulation);
        Assert.Equal(8, records.Count);

        var arrivals = new ConcurrentQueue<int>();
        var collector = new TripletBatchCollector();
        var built = new ConcurrentQueue<DatasetBuilt>();
        var handle = _app.Bus.ConnectReceiveEndpoint($"test-triplets-{Guid.NewGuid():N}", e =>
        {
            e.ConcurrentMessageLimit = 1;
            e.PrefetchCount = 1;
            e.Handler<TripletBatchReady>(ctx =>
            {
                arrivals.Enqueue(ctx.Message.BatchIndex);
                collector.Add(ctx.Message);
                return Task.CompletedTask;
            });
            e.Handler<DatasetBuilt>(ctx =>
            {
                built.Enqueue(ctx.Message);
                return Task.CompletedTask;
            });
        });
        await handle.Ready;

        var request = new BuildDataset { RunId = simulation.RunId, Ratios = null, Holdout = 0, BatchSize = 3 };
        await _app.Bus.Publish(request);
        await Eventually.ReturnsAsync(() => Task.FromResult(built.Count), n => n > 0, TimeSpan.FromSeconds(60));
        var dataset = Assert.Single(built);
        await Eventually.ReturnsAsync(() => Task.FromResult(collector.IsComplete(dataset.DatasetId)), done => done, TimeSpan.FromSeconds(10));

        var expected = TripletBatchReader.BatchCount(dataset.Groups, 3);
        Assert.True(expected > 3, $"only {expected} batches");
        Assert.Equal(Enumerable.Range(0, expected), arrivals);
        Assert.Equal(dataset.Groups, collector.Groups(dataset.DatasetId).Count);

        // A batch delivered again is recognised.
        var again = new TripletBatchReady
        {
            RunId = simulation.RunId, DatasetId = dataset.DatasetId, BatchIndex = 0, BatchCount = expected,
            Groups = collector.Groups(dataset.DatasetId).Take(3).ToList(),
        };
        await _app.Bus.Publish(again);
        await Eventually.ReturnsAsync(() => Task.FromResult(arrivals.Count), n => n == expected + 1, TimeSpan.FromSeconds(10));
        Assert.Equal(expected, collector.Received(dataset.DatasetId));
        Assert.Equal(dataset.Groups, collector.Groups(dataset.DatasetId).Count);

        // Rebuilding with the same parameters: nothing is built or sent again, only the same DatasetBuilt is announced
        // once more (for a pipeline that missed it). The rebuild's consume has finished (so whatever it published has
        // been counted) before the counts are read.
        using var watch = new BusWatch(_app.Bus);
        await _app.Bus.Publish(request);
        await watch.WaitConsumedAsync<BuildDataset>(1, TimeSpan.FromSeconds(60));
        Assert.Equal(1, watch.Published<DatasetBuilt>());
        Assert.Equal(0, watch.Published<TripletBatchReady>());
        await Eventually.ReturnsAsync(() => Task.FromResult(built.Count), n => n == 2, TimeSpan.FromSeconds(10));
        Assert.Equal(dataset, built.Last());
        Assert.Equal(expected + 1, arrivals.Count);
        await handle.StopAsync();
    }
}
