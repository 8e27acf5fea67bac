using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.AgentRunner;
using StableAlignment.AgentRunner.Sandbox;
using StableAlignment.Contracts;
using StableAlignment.Storage;

namespace StableAlignment.SingleProcess;

/// <summary>
/// Follows one run by its events: <see cref="InteractionStored"/> (each record memory-store stores),
/// <see cref="RunProgressed"/> and <see cref="RunCompleted"/>, on a temporary endpoint of its own. Start it before
/// the message that starts the run, so that no event is missed. <see cref="WaitAsync"/> also asks the run's owner
/// at a long interval, which covers an event lost while the broker was away.
/// </summary>
public sealed class RunWatch : IAsyncDisposable
{
    private readonly Guid _runId;
    private readonly HashSet<Guid> _completed = [];
    private readonly HashSet<Guid> _failed = [];
    private readonly TaskCompletionSource<RunCompleted> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HostReceiveEndpointHandle? _handle;

    private RunWatch(Guid runId) => _runId = runId;

    /// <summary>Interactions of the run stored so far (completed, failed), counted by distinct id.</summary>
    public (int Completed, int Failed) Stored
    {
        get
        {
            lock (_completed)
            {
                return (_completed.Count, _failed.Count);
            }
        }
    }

    /// <summary>The latest <see cref="RunProgressed"/>, if any arrived.</summary>
    public RunProgressed? Progress { get; private set; }

    public static async Task<RunWatch> StartAsync(IBus bus, Guid runId, CancellationToken ct)
    {
        var watch = new RunWatch(runId);
        var handle = bus.ConnectReceiveEndpoint(new TemporaryEndpointDefinition(), DefaultEndpointNameFormatter.Instance, e =>
        {
            e.Handler<InteractionStored>(c =>
            {
                watch.OnStored(c.Message);
                return Task.CompletedTask;
            });
            e.Handler<RunProgressed>(c =>
            {
                if (c.Message.RunId == runId)
                {
                    watch.Progress = c.Message;
                }

                return Task.CompletedTask;
            });
            e.Handler<RunCompleted>(c =>
            {
                if (c.Message.RunId == runId)
                {
                    watch._done.TrySetResult(c.Message);
                }

                return Task.CompletedTask;
            });
        });
        watch._handle = handle;
        await handle.Ready.WaitAsync(ct);
        return watch;
    }

    /// <summary>
    /// Waits for <see cref="RunCompleted"/>; every <paramref name="checkEvery"/> without it, <paramref name="askOwner"/>
    /// may answer instead (the run's state as its owner keeps it; null while it is still running). Null when
    /// <paramref name="timeout"/> passes first.
    /// </summary>
    public async Task<RunCompleted?> WaitAsync(TimeSpan timeout, TimeSpan checkEvery, Func<CancellationToken, Task<RunCompleted?>> askOwner, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var wait = TimeSpan.FromTicks(Math.Min(checkEvery.Ticks, (deadline - DateTime.UtcNow).Ticks));
            if (await Task.WhenAny(_done.Task, Task.Delay(wait, ct)) == _done.Task)
            {
                return await _done.Task;
            }

            ct.ThrowIfCancellationRequested();
            if (await askOwner(ct) is { } finished)
            {
                return finished;
            }
        }

        return _done.Task.IsCompleted ? await _done.Task : null;
    }

    /// <summary>
    /// The in-process owner check: agent-runner's run record once it has left Running and no runner holds it, with
    /// memory-store's counts.
    /// </summary>
    public static Func<CancellationToken, Task<RunCompleted?>> AskAgentRunner(IServiceProvider services, Guid runId) => async ct =>
    {
        var runs = services.GetRequiredService<IRunRepository>();
        if (await runs.GetAsync(runId, ct) is not { Status: not RunStatus.Running } run || services.GetRequiredService<SimulationRunner>().IsActive(runId))
        {
            return null;
        }

        var tally = await services.GetRequiredService<MemoryStoreQueries>().TallyAsync(runId, null, ct);
        return new RunCompleted { RunId = runId, Completed = tally.Completed, Failed = tally.Failed, Reason = run.FailureReason };
    };

    private void OnStored(InteractionStored e)
    {
        if (e.RunId != _runId)
        {
            return;
        }

        lock (_completed)
        {
            if (e.Completed)
            {
                _completed.Add(e.InteractionId);
                _failed.Remove(e.InteractionId);
            }
            else if (!_completed.Contains(e.InteractionId))
            {
                _failed.Add(e.InteractionId);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_handle is not null)
        {
            await _handle.StopAsync(CancellationToken.None);
        }
    }
}
