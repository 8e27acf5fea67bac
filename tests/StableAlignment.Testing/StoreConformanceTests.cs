using StableAlignment.Contracts;
using StableAlignment.Storage;
using Xunit;

namespace StableAlignment.Testing;

/// <summary>
/// The behaviour every store must have. Each provider's test class derives from this and supplies a fresh store;
/// the same assertions run against the embedded store and MongoDB.
/// </summary>
public abstract class StoreConformanceTests
{
    /// <summary>A store over a database no other test uses.</summary>
    protected abstract Task<(IRunRepository Runs, IInteractionRepository Interactions, IAgentMemoryRepository Memory, IStoreProbe Probe)> CreateStoreAsync();

    private static DateTime Now() => new(DateTime.UtcNow.Ticks / TimeSpan.TicksPerMillisecond * TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);

    private static InteractionRecord Completed(Guid runId, int round, int agent, string question = "Is it fine to lie to a friend?") => new()
    {
        Id = DeterministicGuid.Create($"{runId}/{round}/{agent}"),
        RunId = runId,
        Round = round,
        AgentId = agent,
        Question = question,
        Draft = "Honesty usually serves friendships better.",
        SocialModel = "model-a",
        DraftAlignment = new Rating { Aspect = RatingAspect.Alignment, Score = 6, Reason = "kind", RawReply = "Rating: 6 ### Reason: kind", Model = "obs" },
        DraftEngagement = new Rating { Aspect = RatingAspect.Engagement, Score = null, Reason = null, RawReply = "I think 9", Model = "obs" },
        Peers = [new PeerFeedback { PeerId = 3, Rating = new Rating { Aspect = RatingAspect.Alignment, Score = 5, Reason = "ok", RawReply = "Rating: 5 ### Reason: ok", Model = "m" } }],
        Revised = "Be honest, gently.",
        CompletedAt = Now(),
    };

    [Fact]
    public async Task Store_answers_a_ping()
    {
        var store = await CreateStoreAsync();
        await store.Probe.PingAsync();
    }

    [Fact]
    public async Task Run_is_created_once_and_read_back()
    {
        var store = await CreateStoreAsync();
        var run = new RunRecord { Id = Guid.NewGuid(), Kind = RunKind.Simulation, CreatedAt = Now() };
        Assert.True(await store.Runs.TryCreateAsync(run));
        Assert.False(await store.Runs.TryCreateAsync(run with { Kind = RunKind.Questions }));
        var read = await store.Runs.GetAsync(run.Id);
        Assert.NotNull(read);
        Assert.Equal(RunKind.Simulation, read.Kind);
        Assert.Equal(run.CreatedAt, read.CreatedAt.ToUniversalTime());
        Assert.Contains(await store.Runs.ListAsync(), r => r.Id == run.Id);
        Assert.Null(await store.Runs.GetAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task Run_status_changes()
    {
        var store = await CreateStoreAsync();
        var run = new RunRecord { Id = Guid.NewGuid(), CreatedAt = Now() };
        await store.Runs.TryCreateAsync(run);
        await store.Runs.SetStatusAsync(run.Id, RunStatus.Failed, reason: "the model endpoint went away");
        Assert.Equal("the model endpoint went away", (await store.Runs.GetAsync(run.Id))!.FailureReason);
        await store.Runs.SetStatusAsync(run.Id, RunStatus.Completed);
        Assert.Equal(RunStatus.Completed, (await store.Runs.GetAsync(run.Id))!.Status);
        Assert.Null((await store.Runs.GetAsync(run.Id))!.FailureReason);
    }

    [Fact]
    public async Task A_run_end_is_owed_to_the_bus_until_marked_announced()
    {
        var store = await CreateStoreAsync();
        var run = new RunRecord { Id = Guid.NewGuid(), CreatedAt = Now() };
        await store.Runs.TryCreateAsync(run);
        Assert.False((await store.Runs.GetAsync(run.Id))!.AnnouncePending);
        await store.Runs.SetStatusAsync(run.Id, RunStatus.Completed);
        Assert.True((await store.Runs.GetAsync(run.Id))!.AnnouncePending);
        await store.Runs.MarkAnnouncedAsync(run.Id);
        Assert.False((await store.Runs.GetAsync(run.Id))!.AnnouncePending);
        Assert.Equal(RunStatus.Completed, (await store.Runs.GetAsync(run.Id))!.Status);
        await store.Runs.SetStatusAsync(run.Id, RunStatus.Running);
        Assert.False((await store.Runs.GetAsync(run.Id))!.AnnouncePending);
    }

    [Fact]
    public async Task Interaction_round_trips_every_field()
    {
        var store = await CreateStoreAsync();
        var record = Completed(Guid.NewGuid(), 1, 2);
        Assert.True(await store.Interactions.TrySaveAsync(record));
        var read = await store.Interactions.GetAsync(record.Id);
        Assert.NotNull(read);
        Assert.Equal(record.RunId, read.RunId);
        Assert.Equal(record.Draft, read.Draft);
        Assert.Equal(record.Revised, read.Revised);
        Assert.Equal(6, read.DraftAlignment!.Score);
        Assert.True(read.DraftAlignment.IsValid);
        Assert.Null(read.DraftEngagement!.Score);
        Assert.False(read.DraftEngagement.IsValid);
        Assert.Equal("I think 9", read.DraftEngagement.RawReply);
        Assert.Equal(RatingAspect.Engagement, read.DraftEngagement.Aspect);
        Assert.Equal(3, Assert.Single(read.Peers).PeerId);
        Assert.Equal(InteractionStatus.Completed, read.Status);
        Assert.Equal(record.CompletedAt, read.CompletedAt.ToUniversalTime());
    }

    [Fact]
    public async Task Saving_the_same_interaction_twice_stores_one()
    {
        var store = await CreateStoreAsync();
        var record = Completed(Guid.NewGuid(), 0, 0);
        Assert.True(await store.Interactions.TrySaveAsync(record));
        Assert.False(await store.Interactions.TrySaveAsync(record with { Draft = "changed" }));
        Assert.Equal(1, await store.Interactions.CountByRunAsync(record.RunId));
        Assert.Equal(record.Draft, (await store.Interactions.GetAsync(record.Id))!.Draft);
    }

    [Fact]
    public async Task Completed_interaction_replaces_a_failed_one_but_not_the_reverse()
    {
        var store = await CreateStoreAsync();
        var done = Completed(Guid.NewGuid(), 0, 4);
        var failed = done with { Status = InteractionStatus.Failed, FailureReason = "timeout", Draft = null };
        Assert.True(await store.Interactions.TrySaveAsync(failed));
        Assert.Equal(1, await store.Interactions.CountByRunAsync(done.RunId, InteractionStatus.Failed));
        Assert.True(await store.Interactions.TrySaveAsync(done));
        Assert.False(await store.Interactions.TrySaveAsync(failed));
        var read = await store.Interactions.GetAsync(done.Id);
        Assert.Equal(InteractionStatus.Completed, read!.Status);
        Assert.Equal(0, await store.Interactions.CountByRunAsync(done.RunId, InteractionStatus.Failed));
        Assert.Equal(1, await store.Interactions.CountByRunAsync(done.RunId, InteractionStatus.Completed));
    }

    [Fact]
    public async Task Interactions_of_a_run_come_ordered_by_round_then_agent()
    {
        var store = await CreateStoreAsync();
        var runId = Guid.NewGuid();
        foreach (var (round, agent) in new[] { (1, 0), (0, 2), (0, 1), (1, 1) })
        {
            await store.Interactions.TrySaveAsync(Completed(runId, round, agent));
        }

        await store.Interactions.TrySaveAsync(Completed(Guid.NewGuid(), 0, 0));
        var list = await store.Interactions.ListByRunAsync(runId);
        Assert.Equal([(0, 1), (0, 2), (1, 0), (1, 1)], list.Select(r => (r.Round, r.AgentId)));
        Assert.Equal(4, await store.Interactions.CountByRunAsync(runId));
        Assert.Empty(await store.Interactions.ListByRunAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task A_round_lists_its_agents_and_completed_records_come_in_pages()
    {
        var store = await CreateStoreAsync();
        var runId = Guid.NewGuid();
        foreach (var (round, agent) in new[] { (1, 0), (0, 2), (0, 1), (1, 1), (0, 0) })
        {
            await store.Interactions.TrySaveAsync(Completed(runId, round, agent));
        }

        await store.Interactions.TrySaveAsync(Completed(runId, 0, 3) with { Status = InteractionStatus.Failed, FailureReason = "model down" });
        Assert.Equal([0, 1, 2, 3], (await store.Interactions.ListByRoundAsync(runId, 0)).Select(r => r.AgentId));
        Assert.Equal([0, 1], (await store.Interactions.ListByRoundAsync(runId, 1)).Select(r => r.AgentId));
        Assert.Empty(await store.Interactions.ListByRoundAsync(runId, 2));
        var first = await store.Interactions.PageCompletedAsync(runId, 0, 3);
        var second = await store.Interactions.PageCompletedAsync(runId, 3, 3);
        Assert.Equal([(0, 0), (0, 1), (0, 2)], first.Select(r => (r.Round, r.AgentId)));
        Assert.Equal([(1, 0), (1, 1)], second.Select(r => (r.Round, r.AgentId)));
        Assert.Empty(await store.Interactions.PageCompletedAsync(runId, 5, 3));
    }

    [Fact]
    public async Task Memory_keeps_one_answer_per_question_and_round()
    {
        var store = await CreateStoreAsync();
        var runId = Guid.NewGuid();
        var entry = new MemoryEntry { Id = Guid.Empty, RunId = runId, AgentId = 7, Question = "q1", Answer = "first", Round = 0, Embedding = [0.5f, -0.25f], UpdatedAt = Now() };
        await store.Memory.UpsertAsync(entry);
        await store.Memory.UpsertAsync(entry with { Answer = "second", UpdatedAt = Now().AddSeconds(1) });
        await store.Memory.UpsertAsync(entry with { Answer = "later", Round = 2 });
        await store.Memory.UpsertAsync(entry with { Question = "q2", Answer = "seed", Round = -1 });
        await store.Memory.UpsertAsync(entry with { AgentId = 8 });
        var list = await store.Memory.ListAsync(runId, 7);
        Assert.Equal(["seed", "second", "later"], list.Select(m => m.Answer));
        Assert.Equal([-1, 0, 2], list.Select(m => m.Round));
        Assert.Equal([0.5f, -0.25f], list[1].Embedding);
    }

    [Fact]
    public async Task Concurrent_saves_of_one_interaction_store_exactly_one()
    {
        var store = await CreateStoreAsync();
        var record = Completed(Guid.NewGuid(), 0, 9);
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => store.Interactions.TrySaveAsync(record))));
        Assert.Equal(1, results.Count(r => r));
        Assert.Equal(1, await store.Interactions.CountByRunAsync(record.RunId));
    }
}
