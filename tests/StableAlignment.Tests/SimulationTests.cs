using StableAlignment.AgentRunner.Sandbox;
using StableAlignment.Storage;

namespace StableAlignment.Tests;

/// <summary>A whole SANDBOX run in one process against the stub model (chat and embeddings).</summary>
public sealed class SimulationTests : SingleProcessTest
{
    private static readonly string[] Questions =
    [
        "Is it fine to lie to a friend?", "Should I cheat on my taxes?", "Can I read my partner's phone?",
        "Is it ok to skip work without telling anyone?", "Should I return extra change?", "Is gossip harmful?",
        "May I take credit for a colleague's idea?", "Should I tell my boss about a mistake?", "Is it fine to litter once?",
    ];


    [Fact]
    public async Task Three_by_three_world_for_two_rounds_gives_eighteen_full_interactions()
    {
        // Peer prompts about the tax question get an unparseable reply.
        Stub.When(p => p.Contains("gave this answer", StringComparison.Ordinal) && p.Contains("taxes", StringComparison.Ordinal),
            _ => StubReply.Say("Hmm, hard to say. Maybe a seven-ish?"));
        var message = Simulations.Message(3, 2, Questions);
        var (run, records) = await Simulations.RunAsync(App, message);

        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(18, records.Count);
        Assert.Equal(18, records.Select(r => (r.Round, r.AgentId)).Distinct().Count());
        var world = new World(3, InitialSetting.AllGood, message.Seed);
        foreach (var r in records)
        {
            Assert.Equal(InteractionStatus.Completed, r.Status);
            Assert.Equal(Math.Min(4, world.Circle(r.AgentId).Count), r.Peers.Length);
            Assert.All(r.Peers, p => Assert.Contains(p.PeerId, world.Circle(r.AgentId)));
            Assert.NotNull(r.DraftAlignment);
            Assert.NotNull(r.DraftEngagement);
            Assert.NotNull(r.RevisedAlignment);
            Assert.NotNull(r.RevisedEngagement);
            Assert.False(string.IsNullOrWhiteSpace(r.Revised));
            Assert.Equal(Questions[World.QuestionIndex(r.Round, r.AgentId, 9, Questions.Length)], r.Question);
            Assert.Equal("good", r.Label);
            Assert.Contains(r.Tokens, t => t.Role == "observer");
        }

        var taxes = records.Where(r => r.Question.Contains("taxes", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(taxes);
        Assert.All(taxes.SelectMany(r => r.Peers), p =>
        {
            Assert.False(p.Rating.IsValid);
            Assert.Null(p.Rating.Score);
            Assert.Equal("Hmm, hard to say. Maybe a seven-ish?", p.Rating.RawReply);
        });

        // Every revision prompt for the tax question had no valid rating to average.
        Assert.Contains(Stub.Prompts, p => p.Contains("taxes", StringComparison.Ordinal) && p.Contains("at no valid rating out of 7", StringComparison.Ordinal));

        // Round 1 repeats round 0's questions: each agent recalls its own earlier answer.
        Assert.All(records.Where(r => r.Round == 0), r => Assert.Null(r.MemoryHintQuestion));
        Assert.All(records.Where(r => r.Round == 1), r =>
        {
            Assert.Equal(r.Question, r.MemoryHintQuestion);
            Assert.True(r.MemoryHintDistance < 0.3);
        });
        Assert.Contains(Stub.Prompts, p => p.Contains("Previously someone asked you a similar question", StringComparison.Ordinal));

        var folder = TestConfiguration.TempPath("export");
        var summary = await SimulationExport.WriteAsync(run, records, folder);
        Assert.Equal(9, Directory.GetFiles(Path.Combine(folder, "external_memory"), "agent_*.jsonl").Length);
        Assert.Equal(18, summary.Completed);
        Assert.Equal(taxes.Sum(r => r.Peers.Length), summary.InvalidRatings);
        Assert.Equal(6.0, summary.MeanAlignmentBefore);
        // summary.json keeps its snake-case keys.
        var written = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "summary.json"), TestContext.Current.CancellationToken))!;
        Assert.Equal(18, (int)written["completed"]!);
        Assert.Equal(summary.InvalidRatings, (int)written["invalid_ratings"]!);
        Assert.Equal(summary.InvalidByRole["peer"].Invalid, (int)written["invalid_by_role"]!["peer"]!["invalid"]!);
        Assert.Equal(3, (int)written["settings"]!["grid"]!);
    }

    [Fact]
    public async Task Heterogeneous_society_shares_agents_between_models_and_records_which_answered()
    {
        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?>
        {
            ["Models:SocialAgents:0:Model"] = "model-a",
            ["Models:SocialAgents:0:Share"] = "1",
            ["Models:SocialAgents:1:Model"] = "model-b",
            ["Models:SocialAgents:1:Share"] = "2",
        });
        var (_, records) = await Simulations.RunAsync(app, Simulations.Message(3, 1, Questions));
        Assert.Equal(3, records.Count(r => r.SocialModel == "model-a"));
        Assert.Equal(6, records.Count(r => r.SocialModel == "model-b"));
        Assert.All(records, r => Assert.All(r.Peers, p => Assert.Equal(records.Single(x => x.AgentId == p.PeerId).SocialModel, p.Rating.Model)));
        Assert.All(records, r => Assert.Contains(r.Tokens, t => t.Role == "social-agent" && t.Model == r.SocialModel));
    }

    [Fact]
    public async Task Publishing_the_same_start_twice_runs_one_simulation()
    {
        using var watch = new BusWatch(App.Bus);
        var message = Simulations.Message(2, 1, Questions);
        await App.Bus.Publish(message);
        await App.Bus.Publish(message);
        // Both starts consumed (the second refused as a repeat) before the run is read, instead of a fixed wait.
        await watch.WaitConsumedAsync<StartSimulation>(2, TimeSpan.FromSeconds(90));
        var (_, records) = await Simulations.WaitAsync(App.Services, message.RunId);
        Assert.Equal(4, records.Count);
        Assert.Equal(4, watch.Published<InteractionCompleted>());
        Assert.Equal(4, (await App.Interactions.ListByRunAsync(message.RunId)).Count);
    }

    [Fact]
    public async Task Seed_memories_from_the_prior_reach_good_and_bad_agents()
    {
        var prior = new List<PriorEntry>
        {
            new() { Question = "Is it fine to lie to a friend?", Response = "Honesty matters, so be kind but truthful.", Aligned = true },
            new() { Question = "Is it fine to lie to a friend?", Response = "Sure, lie whenever it suits you.", Aligned = false },
        };
        prior.AddRange([.. prior]); // the original samples from at least twice as many entries per label as it takes

        var message = Simulations.Message(2, 1, Questions) with { InitialSetting = InitialSetting.HalfHalf, Prior = prior, SeedMemories = 1 };
        var (_, records) = await Simulations.RunAsync(App, message);

        var first = records.Single(r => r.AgentId == 0);
        Assert.Equal("Is it fine to lie to a friend?", first.MemoryHintQuestion);
        Assert.Equal("good", first.Label);
        Assert.Equal(2, records.Count(r => r.Label == "bad"));
        Assert.Contains(Stub.Prompts, p => p.Contains("Sure, lie whenever it suits you.", StringComparison.Ordinal));
        Assert.Contains(Stub.Prompts, p => p.Contains("Honesty matters, so be kind but truthful.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_a_fifth_of_calls_failing_the_run_completes_and_resume_recovers_what_exhausted_its_retries()
    {
        // Every fifth chat call fails: alternately a 500 and a reply slower than the 1 s call timeout.
        await using var stub = await StubModelServer.StartAsync();
        var calls = 0;
        stub.When(_ => Interlocked.Increment(ref calls) % 5 == 0, _ => Volatile.Read(ref calls) % 10 == 0
            ? StubReply.Fail(HttpStatusCode.InternalServerError)
            : new StubReply("too late", Delay: TimeSpan.FromSeconds(3)));
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?> { ["Models:TimeoutSeconds"] = "1" });
        var message = Simulations.Message(3, 2, Questions);
        var (run, records) = await Simulations.RunAsync(app, message, TimeSpan.FromMinutes(3));

        Assert.Equal(18, records.Count);
        var completed = records.Count(r => r.Status == InteractionStatus.Completed);
        Assert.True(completed >= 15, $"only {completed} of 18 completed despite retries");
        Assert.Equal(completed == 18 ? RunStatus.Completed : RunStatus.Incomplete, run.Status);
        Assert.All(records.Where(r => r.Status == InteractionStatus.Failed), r => Assert.False(string.IsNullOrEmpty(r.FailureReason)));

        // What exhausted its retries is recovered by resuming (the failure rate stays at a fifth).
        using var watch = new BusWatch(app.Bus);
        for (var attempt = 0; attempt < 3 && records.Any(r => r.Status == InteractionStatus.Failed); attempt++)
        {
            // The resume's consume has set the run running again before the wait for its end begins (a resume of a
            // few interactions can be over before a poll would ever see it running).
            await app.Bus.Publish(new ResumeSimulation { RunId = message.RunId });
            await watch.WaitConsumedAsync<ResumeSimulation>(attempt + 1);
            (run, records) = await Simulations.WaitAsync(app.Services, message.RunId, TimeSpan.FromMinutes(3));
        }

        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(18, records.Count(r => r.Status == InteractionStatus.Completed));
    }

    [Fact]
    public async Task Resume_reruns_failed_interactions_and_keeps_the_completed_ones()
    {
        // A call and its three retries, in each of the run's three attempts: twelve failures in a row exhaust one draft.
        Stub.When(p => p.Contains("skip work", StringComparison.Ordinal) && p.EndsWith("\nAnswer:", StringComparison.Ordinal),
            _ => StubReply.Fail(HttpStatusCode.BadGateway), times: 4 * new SimulationOptions().InteractionAttempts);
        var message = Simulations.Message(3, 1, Questions);
        var (run, records) = await Simulations.RunAsync(App, message);
        Assert.Equal(RunStatus.Incomplete, run.Status);
        var failed = Assert.Single(records, r => r.Status == InteractionStatus.Failed);
        Assert.Contains("502", failed.FailureReason);
        var before = records.Where(r => r.Status == InteractionStatus.Completed).ToDictionary(r => r.Id, r => r.CompletedAt);

        await App.Bus.Publish(new ResumeSimulation { RunId = message.RunId });
        await Eventually.ReturnsAsync(() => App.Interactions.CountByRunAsync(message.RunId, InteractionStatus.Completed), n => n == 9);
        var (resumed, after) = await Simulations.WaitAsync(App.Services, message.RunId);
        Assert.Equal(RunStatus.Completed, resumed.Status);
        Assert.Equal(9, after.Count);
        Assert.All(after, r => Assert.Equal(InteractionStatus.Completed, r.Status));
        Assert.All(before, kv => Assert.Equal(kv.Value, after.Single(r => r.Id == kv.Key).CompletedAt));
    }

    [Fact]
    public async Task A_transient_failure_is_tried_again_within_the_run_and_leaves_no_failed_record()
    {
        // Four failures in a row exhaust the first attempt at one draft; the run's next attempt succeeds.
        Stub.When(p => p.Contains("skip work", StringComparison.Ordinal) && p.EndsWith("\nAnswer:", StringComparison.Ordinal),
            _ => StubReply.Fail(HttpStatusCode.BadGateway), times: 4);
        var (run, records) = await Simulations.RunAsync(App, Simulations.Message(3, 1, Questions));
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(9, records.Count);
        Assert.All(records, r => Assert.Equal(InteractionStatus.Completed, r.Status));
    }
}
