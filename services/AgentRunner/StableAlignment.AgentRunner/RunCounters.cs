namespace StableAlignment.AgentRunner;

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
