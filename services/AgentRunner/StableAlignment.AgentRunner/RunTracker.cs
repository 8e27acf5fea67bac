using System.Collections.Concurrent;

namespace StableAlignment.AgentRunner;

/// <summary>
/// Counts, per run this process is running, which agents of each round have a stored record, from the
/// <see cref="InteractionStored"/> events memory-store publishes (every agent-runner instance receives them on its
/// own temporary queue). A round barrier waits here instead of polling the store.
/// </summary>
public sealed class RunTracker
{
    private readonly ConcurrentDictionary<Guid, RunCounters> _runs = new();

    public RunCounters Track(Guid runId) => _runs.GetOrAdd(runId, _ => new RunCounters());

    public void Untrack(Guid runId) => _runs.TryRemove(runId, out _);

    /// <summary>Counts an event; events of runs not running here are ignored.</summary>
    public void Observe(InteractionStored e)
    {
        if (_runs.TryGetValue(e.RunId, out var counters))
        {
            counters.Record(e.Round, e.AgentId, e.Completed);
        }
    }
}
