using StableAlignment.AgentRunner;

namespace StableAlignment.Tests;

/// <summary>The round barrier's counts: distinct agents per round, a completion replacing a failure, and a wake-up per change.</summary>
public sealed class RunCountersTests
{
    [Fact]
    public async Task Repeated_events_count_once_a_completion_replaces_a_failure_and_each_change_wakes_the_waiter()
    {
        var tracker = new RunTracker();
        var runId = Guid.NewGuid();
        var counters = tracker.Track(runId);
        var changed = counters.Changed;
        tracker.Observe(Stored(runId, round: 0, agent: 1, completed: false));
        await changed.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        changed = counters.Changed;
        tracker.Observe(Stored(runId, round: 0, agent: 1, completed: false));
        Assert.False(changed.IsCompleted);
        tracker.Observe(Stored(runId, round: 0, agent: 1, completed: true));
        tracker.Observe(Stored(runId, round: 0, agent: 1, completed: true));
        tracker.Observe(Stored(runId, round: 0, agent: 1, completed: false));
        tracker.Observe(Stored(runId, round: 1, agent: 0, completed: true));
        tracker.Observe(Stored(Guid.NewGuid(), round: 0, agent: 2, completed: true));
        Assert.True(changed.IsCompleted);

        var (completed, stored) = counters.Snapshot(0);
        Assert.Equal([1], completed);
        Assert.Equal(1, stored);
        Assert.Equal(1, counters.Snapshot(1).Stored);
    }

    [Fact]
    public void A_tally_fills_in_what_the_events_missed()
    {
        var counters = new RunTracker().Track(Guid.NewGuid());
        counters.Record(0, 3, completed: true);
        Assert.True(counters.Merge(0, new RunTally { RunId = Guid.Empty, Completed = 3, Failed = 1, RoundCompleted = [0, 3, 4], RoundFailed = [5] }));
        Assert.False(counters.Merge(0, new RunTally { RunId = Guid.Empty, Completed = 3, Failed = 1, RoundCompleted = [0, 3, 4], RoundFailed = [5] }));
        var (completed, stored) = counters.Snapshot(0);
        Assert.Equal([0, 3, 4], completed.Order());
        Assert.Equal(4, stored);
    }

    private static InteractionStored Stored(Guid runId, int round, int agent, bool completed) =>
        new() { RunId = runId, InteractionId = Guid.NewGuid(), Round = round, AgentId = agent, Completed = completed };
}
