using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.Contracts;
using StableAlignment.Storage;

namespace StableAlignment.Testing;

/// <summary>Starting a simulation on a running app and waiting for it to finish.</summary>
public static class Simulations
{
    public static StartSimulation Message(int grid, int rounds, IReadOnlyList<string> questions, int seed = 11) => new()
    {
        RunId = NewId.NextGuid(), GridSize = grid, Rounds = rounds, Questions = questions, Seed = seed,
    };

    /// <summary>Waits until the run is no longer running; returns it with its records.</summary>
    public static async Task<(RunRecord Run, IReadOnlyList<InteractionRecord> Records)> WaitAsync(IServiceProvider services, Guid runId, TimeSpan? timeout = null)
    {
        var runs = services.GetRequiredService<IRunRepository>();
        var run = await Eventually.ReturnsAsync(() => runs.GetAsync(runId), r => r is { Status: not RunStatus.Running }, timeout ?? TimeSpan.FromSeconds(90), $"run {runId} to finish");
        return (run!, await services.GetRequiredService<IInteractionRepository>().ListByRunAsync(runId));
    }

    public static async Task<(RunRecord Run, IReadOnlyList<InteractionRecord> Records)> RunAsync(SingleProcessApp app, StartSimulation message, TimeSpan? timeout = null)
    {
        await app.Bus.Publish(message);
        return await WaitAsync(app.Services, message.RunId, timeout);
    }
}
