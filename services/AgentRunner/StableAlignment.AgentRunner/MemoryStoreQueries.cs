using System.Collections.Concurrent;
using MassTransit;
using StableAlignment.Contracts;

namespace StableAlignment.AgentRunner;

/// <summary>
/// What agent-runner asks memory-store, the owner of interactions, over the bus. agent-runner never reads
/// memory-store's collections; it learns of stored records from <see cref="InteractionStored"/> and asks for a
/// tally when it needs one (at the start of a round, for a run's status, or when events have gone quiet).
/// </summary>
public sealed class MemoryStoreQueries(IRequestClient<GetRunTally> tally, IRequestClient<FindInteraction> find)
{
    public async Task<RunTally> TallyAsync(Guid runId, int? round, CancellationToken ct, bool withFailures = false) =>
        (await tally.GetResponse<RunTally>(new GetRunTally { RunId = runId, Round = round, WithFailures = withFailures }, ct)).Message;

    /// <summary>The tally, or null when memory-store does not answer in time (the caller shows what it knows).</summary>
    public async Task<RunTally?> TryTallyAsync(Guid runId, CancellationToken ct, bool withFailures = false)
    {
        try
        {
            return await TallyAsync(runId, null, ct, withFailures);
        }
        catch (RequestTimeoutException)
        {
            return null;
        }
    }

    public async Task<bool> IsCompletedAsync(Guid interactionId, CancellationToken ct) =>
        (await find.GetResponse<InteractionFound>(new FindInteraction { InteractionId = interactionId }, ct)).Message.Completed;
}

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

/// <summary>The agents with a stored record, per round, of one run; <see cref="Changed"/> wakes a waiting barrier.</summary>
public sealed class RunCounters
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, (HashSet<int> Completed, HashSet<int> Failed)> _rounds = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next recorded change.</summary>
    public Task Changed
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Records that an agent's interaction of a round is stored; true when that changed what is known.</summary>
    public bool Record(int round, int agent, bool completed)
    {
        TaskCompletionSource? fire = null;
        lock (_lock)
        {
            var (done, failed) = Round(round);
            var changed = completed
                ? done.Add(agent) | failed.Remove(agent)
                : !done.Contains(agent) && failed.Add(agent);
            if (changed)
            {
                fire = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        fire?.TrySetResult();
        return fire is not null;
    }

    /// <summary>Takes in memory-store's view of a round (it may know records whose events this process missed); true when anything was new.</summary>
    public bool Merge(int round, RunTally tally)
    {
        var changed = false;
        foreach (var agent in tally.RoundCompleted)
        {
            changed |= Record(round, agent, completed: true);
        }

        foreach (var agent in tally.RoundFailed)
        {
            changed |= Record(round, agent, completed: false);
        }

        return changed;
    }

    public (IReadOnlySet<int> Completed, int Stored) Snapshot(int round)
    {
        lock (_lock)
        {
            var (done, failed) = Round(round);
            return (new HashSet<int>(done), done.Count + failed.Count);
        }
    }

    private (HashSet<int> Completed, HashSet<int> Failed) Round(int round)
    {
        if (!_rounds.TryGetValue(round, out var sets))
        {
            _rounds[round] = sets = ([], []);
        }

        return sets;
    }
}

/// <summary>Feeds <see cref="InteractionStored"/> to the <see cref="RunTracker"/>.</summary>
public sealed class InteractionStoredConsumer(RunTracker tracker) : IConsumer<InteractionStored>
{
    public Task Consume(ConsumeContext<InteractionStored> context)
    {
        tracker.Observe(context.Message);
        return Task.CompletedTask;
    }
}
