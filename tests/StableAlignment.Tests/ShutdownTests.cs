using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.Storage;

namespace StableAlignment.Tests;

/// <summary>A host stops within seconds even while its consumers wait on services that stop with it.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Stopping_the_host_ends_dataset_builds_waiting_on_memory_store_within_seconds()
    {
        // memory-store never answers (its store hangs), as when it stops before dataset-builder in one process.
        await using var stub = await StubModelServer.StartAsync();
        var hanging = new HangingInteractions();
        var app = await SingleProcessApp.StartAsync(
            stub,
            new Dictionary<string, string?> { ["Datasets:Root"] = TestConfiguration.TempPath("datasets") },
            s => s.AddSingleton<IInteractionRepository>(hanging));
        // Two builds: one waiting on memory-store when the stop begins, one queued behind it (one build at a time) that
        // starts during the stop. Each used to wait out its 30 s request timeout five times over (the retries).
        await app.Bus.Publish(new BuildDataset { RunId = Guid.NewGuid() }, TestContext.Current.CancellationToken);
        await app.Bus.Publish(new BuildDataset { RunId = Guid.NewGuid() }, TestContext.Current.CancellationToken);
        await hanging.Asked.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        var clock = Stopwatch.StartNew();
        await app.DisposeAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), $"the host took {clock.Elapsed} to stop");
    }

    /// <summary>A store whose page query waits until it is cancelled; everything else is empty.</summary>
    private sealed class HangingInteractions : IInteractionRepository
    {
        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<IReadOnlyList<InteractionRecord>> PageCompletedAsync(Guid runId, int skip, int take, CancellationToken cancellationToken = default)
        {
            Asked.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return [];
        }

        public Task<bool> TrySaveAsync(InteractionRecord record, CancellationToken cancellationToken = default) => Task.FromResult(true);

        public Task<InteractionRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default) => Task.FromResult<InteractionRecord?>(null);

        public Task<IReadOnlyList<InteractionRecord>> ListByRunAsync(Guid runId, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<InteractionRecord>>([]);

        public Task<long> CountByRunAsync(Guid runId, InteractionStatus? status = null, CancellationToken cancellationToken = default) => Task.FromResult(0L);

        public Task<IReadOnlyList<InteractionRecord>> ListByRoundAsync(Guid runId, int round, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<InteractionRecord>>([]);
    }
}
