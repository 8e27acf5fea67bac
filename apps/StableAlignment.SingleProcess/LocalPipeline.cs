using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.Contracts;
using StableAlignment.Data;
using StableAlignment.DatasetBuilder;

namespace StableAlignment.SingleProcess;

/// <summary>
/// Simulate → wait → build in one process: the pieces every local entry point (<c>sa simulate</c>, the miniature of
/// <c>make run</c>, <c>sa loop</c>) shares, over the services of a one-process app on the in-memory bus.
/// </summary>
public static class LocalPipeline
{
    /// <summary>
    /// Starts run <paramref name="runId"/> with <paramref name="start"/> (null: resumes it) and waits for its
    /// <see cref="RunCompleted"/>, reporting the interactions stored so far (completed, failed) every quarter second.
    /// Returns null when the run did not end within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<RunCompleted?> SimulateAsync(
        IServiceProvider services, Guid runId, StartSimulation? start, TimeSpan timeout, Action<(int Completed, int Failed)> progress, CancellationToken ct)
    {
        var bus = services.GetRequiredService<IBus>();

        // The run is followed by its events (each stored record, then RunCompleted), watched before it starts.
        await using var watch = await RunWatch.StartAsync(bus, runId, ct);
        if (start is not null)
        {
            await bus.Publish(start, ct);
        }
        else
        {
            await bus.Publish(new ResumeSimulation { RunId = runId }, ct);
        }

        var wait = watch.WaitAsync(timeout, TimeSpan.FromSeconds(10), RunWatch.AskAgentRunner(services, runId), ct);
        while (!wait.IsCompleted)
        {
            progress(watch.Stored);
            await Task.WhenAny(wait, Task.Delay(250, ct));
        }

        var ended = await wait;
        progress(watch.Stored);
        return ended;
    }

    /// <summary>The alignment data of a run as memory-store holds it (the authors' and Alpaca forms, the default 5:1:1 sampling), written to <paramref name="folder"/>.</summary>
    public static Task<DatasetManifest> BuildAsync(IServiceProvider services, Guid runId, string folder, int seed, CancellationToken ct) =>
        DatasetBuild.RunAsync(RecordSources.FromMemoryStoreAsync(services.GetRequiredService<IRequestClient<ListInteractions>>(), runId, ct),
            new BuildOptions(null, seed), [DatasetFormat.Authors, DatasetFormat.Alpaca], folder, $"run:{runId}", [runId], ct);
}
