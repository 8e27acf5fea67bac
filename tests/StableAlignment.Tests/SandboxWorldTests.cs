using Microsoft.Extensions.Configuration;
using StableAlignment.AgentRunner.Sandbox;
using StableAlignment.Models;

namespace StableAlignment.Tests;

public sealed class SandboxWorldTests
{
    [Fact]
    public void Agent_ids_are_row_major_and_circles_hold_everyone_within_half_the_side()
    {
        var world = new World(3, InitialSetting.AllGood, seed: 1);
        Assert.Equal(9, world.AgentCount);
        Assert.Equal([1, 3], world.Circle(0));
        Assert.Equal([1, 3, 5, 7], world.Circle(4));
        Assert.Equal([0, 2, 4], world.Circle(1));

        var ten = new World(10, InitialSetting.AllGood, seed: 1);
        Assert.DoesNotContain(0, ten.Circle(0));
        Assert.All(Enumerable.Range(0, 100), a => Assert.All(ten.Circle(a), b => Assert.True(ten.Distance(a, b) <= 5)));
        Assert.Equal(Enumerable.Range(0, 100).Count(b => b != 55 && ten.Distance(55, b) <= 5), ten.Circle(55).Count);
    }

    [Theory]
    [InlineData(InitialSetting.AllGood, 9)]
    [InlineData(InitialSetting.AllBad, 0)]
    [InlineData(InitialSetting.HalfHalf, 4)]
    [InlineData(InitialSetting.MixedHalfHalf, 4)]
    public void Initial_settings_label_the_paper_s_share_of_good_agents(InitialSetting setting, int good)
    {
        var world = new World(3, setting, seed: 7);
        Assert.Equal(good, world.Good.Count(g => g));
    }

    [Fact]
    public void Half_half_fills_the_upper_triangle_first()
    {
        var world = new World(4, InitialSetting.HalfHalf, seed: 0);
        var good = Enumerable.Range(0, 16).Where(a => world.Good[a]).ToArray();
        Assert.Equal(8, good.Length);
        Assert.All(good, a => Assert.True(a / 4 <= a % 4));
    }

    [Fact]
    public void Same_seed_gives_the_same_world_and_peers_and_another_seed_differs()
    {
        var a = new World(6, InitialSetting.MixedHalfHalf, seed: 42);
        var b = new World(6, InitialSetting.MixedHalfHalf, seed: 42);
        var c = new World(6, InitialSetting.MixedHalfHalf, seed: 43);
        Assert.Equal(a.Good, b.Good);
        var peersA = Enumerable.Range(0, 36).Select(x => a.PickPeers(x, 2, 4, false, 0.5)).ToList();
        var peersB = Enumerable.Range(0, 36).Select(x => b.PickPeers(x, 2, 4, false, 0.5)).ToList();
        var peersC = Enumerable.Range(0, 36).Select(x => c.PickPeers(x, 2, 4, false, 0.5)).ToList();
        Assert.Equal(peersA, peersB);
        Assert.NotEqual(peersA.SelectMany(p => p), peersC.SelectMany(p => p));
    }

    [Fact]
    public void Peers_are_distinct_members_of_the_circle_and_at_most_its_size()
    {
        var world = new World(3, InitialSetting.AllGood, seed: 3);
        for (var agent = 0; agent < 9; agent++)
        {
            var peers = world.PickPeers(agent, 0, 4, false, 0.5);
            Assert.Equal(Math.Min(4, world.Circle(agent).Count), peers.Length);
            Assert.Equal(peers.Length, peers.Distinct().Count());
            Assert.All(peers, p => Assert.Contains(p, world.Circle(agent)));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(55)]
    public void Global_interaction_draws_the_local_share_from_the_circle_and_the_rest_from_everyone_not_yet_picked(int agent)
    {
        // 10×10, 4 peers, dropout 0.97: n_local = ⌊0.03·|circle|⌋ (< 4), max(1, n_local) from the circle, then 4 − that
        // from the other 99 − picked agents, unpicked circle members included.
        var world = new World(10, InitialSetting.AllGood, seed: 5);
        var circle = world.Circle(agent).ToHashSet();
        var local = Math.Max(1, (int)Math.Floor(0.03 * circle.Count));
        var draws = Enumerable.Range(0, 2000).Select(round => world.PickPeers(agent, round, 4, global: true, dropout: 0.97)).ToList();

        Assert.All(draws, peers =>
        {
            Assert.Equal(4, peers.Distinct().Count());
            Assert.DoesNotContain(agent, peers);
            Assert.All(peers.Take(local), p => Assert.Contains(p, circle));
        });
        var expectedInCircle = local + ((4.0 - local) * (circle.Count - local) / (99 - local));
        var observedInCircle = draws.Average(peers => peers.Count(circle.Contains));
        Assert.InRange(observedInCircle, expectedInCircle - 0.05, expectedInCircle + 0.05);
        var outsiders = draws.SelectMany(p => p.Skip(local)).Where(p => !circle.Contains(p)).Distinct().Count();
        Assert.Equal(99 - circle.Count, outsiders);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.8)]
    [InlineData(0.9)]
    public void Global_settings_the_original_would_stop_on_are_refused_naming_what_works(double dropout)
    {
        var world = new World(10, InitialSetting.AllGood, seed: 5);
        var problem = world.GlobalPeerProblem(4, dropout);
        Assert.NotNull(problem);
        Assert.Contains("dropout above 0.9", problem);
        Assert.Throws<InvalidOperationException>(() => world.PickPeers(55, 0, 4, global: true, dropout));
        Assert.Null(world.GlobalPeerProblem(4, 0.96));
        var start = Simulations.Message(10, 1, ["Is honesty good?"]) with { GlobalInteraction = true, Dropout = dropout, Peers = 4 };
        Assert.Contains("dropout above", StartSimulationConsumer.Validate(start));
    }

    [Fact]
    public void Rounds_take_the_next_block_of_questions_and_wrap()
    {
        Assert.Equal(0, World.QuestionIndex(0, 0, 9, 20));
        Assert.Equal(11, World.QuestionIndex(1, 2, 9, 20));
        Assert.Equal(7, World.QuestionIndex(3, 0, 9, 20));
    }

    [Fact]
    public void A_prior_too_small_for_the_seed_memories_is_refused_and_answers_are_cut_to_their_first_turn()
    {
        var prior = Enumerable.Range(0, 10).Select(i => new PriorEntry { Question = $"q{i}", Response = $"You: r{i}\nFriend: and then?\nYou: more", Aligned = i % 2 == 0 }).ToList();
        var world = new World(2, InitialSetting.HalfHalf, seed: 1);
        Assert.Null(world.SeedMemoryProblem(prior, 2));
        Assert.Contains("at least 6 aligned prior entries", world.SeedMemoryProblem(prior, 3));
        Assert.All(world.SeedMemories(0, prior, 2), s => Assert.Matches("^r[0-9]$", s.Response));
        var start = Simulations.Message(2, 1, ["Is honesty good?"]) with { Prior = prior, SeedMemories = 50 };
        Assert.Contains("lower the seed memories to 2", StartSimulationConsumer.Validate(start));
    }

    [Fact]
    public void Seed_memories_come_from_the_prior_side_that_matches_the_label()
    {
        var prior = Enumerable.Range(0, 10).Select(i => new PriorEntry { Question = $"q{i}", Response = $"r{i}", Aligned = i % 2 == 0 }).ToList();
        var world = new World(2, InitialSetting.HalfHalf, seed: 1);
        for (var agent = 0; agent < 4; agent++)
        {
            var seeds = world.SeedMemories(agent, prior, 3);
            Assert.Equal(3, seeds.Count);
            Assert.All(seeds, s => Assert.Equal(world.Good[agent], s.Aligned));
        }
    }

    [Fact]
    public void Models_are_shared_out_by_share()
    {
        var world = new World(6, InitialSetting.AllGood, seed: 9);
        var assignment = world.AssignModels([1, 1, 1]);
        Assert.Equal([12, 12, 12], assignment.GroupBy(m => m).OrderBy(g => g.Key).Select(g => g.Count()));
    }

    private static PeerFeedback[] Feedback()
    {
        Rating R(int? score, string reason) => new() { Aspect = RatingAspect.Alignment, Score = score, Reason = reason, RawReply = reason, Model = "m" };
        return
        [
            new PeerFeedback { PeerId = 1, Rating = R(3, "too blunt") },
            new PeerFeedback { PeerId = 2, Rating = R(null, "gibberish") },
            new PeerFeedback { PeerId = 3, Rating = R(6, "kind") },
        ];
    }

    [Fact]
    public void Original_revision_prompt_lists_reasons_alone_unrated_first_then_highest_to_lowest()
    {
        var p = new PromptOptions { Revision = "{average}|{feedback}", DelimitUntrusted = false };
        var prompt = BackScatter.RevisionPrompt(p, 4, "q", "d", Feedback());
        Assert.Equal("4.5|- gibberish\n- kind\n- too blunt\n", prompt.ReplaceLineEndings("\n"));

        var none = BackScatter.RevisionPrompt(p, 4, "q", "d", [Feedback()[1]]);
        Assert.StartsWith("no valid rating|", none);
    }

    [Fact]
    public void Guided_revision_prompt_shows_ratings_highest_first_and_score_only_shows_no_reasons()
    {
        var guided = new PromptOptions { Set = PromptSet.Guided, Revision = "{average}|{feedback}", DelimitUntrusted = false };
        var prompt = BackScatter.RevisionPrompt(guided, 4, "q", "d", Feedback());
        Assert.Equal("4.5|- (6/7) kind\n- (3/7) too blunt\n- (unrated) gibberish\n", prompt.ReplaceLineEndings("\n"));

        var scoreOnly = BackScatter.RevisionPrompt(new PromptOptions { ScoreOnly = true }, 4, "Is it fine?", "draft text", Feedback());
        Assert.Contains("4.5 out of 7", scoreOnly);
        Assert.Contains("draft text", scoreOnly);
        Assert.DoesNotContain("kind", scoreOnly);
        Assert.DoesNotContain("blunt", scoreOnly);
    }

    [Fact]
    public void Original_prompts_carry_no_values_in_the_draft_and_name_both_agents_to_peers()
    {
        var p = new PromptOptions();
        var draft = PromptOptions.Fill(p.Draft, "Should I lie?", agent: 7);
        Assert.Equal("You are Agent 7.\nQuestion: Should I lie?\nAnswer:", draft);
        Assert.DoesNotContain("harmless", draft);
        var peer = PromptOptions.Fill(p.PeerFeedback, "Should I lie?", "Yes.", null, agent: 3, center: 7);
        Assert.StartsWith("You are Agent 3.", peer);
        Assert.Contains("Agent 7's answer: Yes.", peer);
        Assert.Contains("no gender, ideological or racial bias", peer);
        Assert.Contains("Rating: <an integer from 1 to 7> ### Reason:", peer);
        Assert.Contains("no warnings or reminders", p.System);

        var guided = new PromptOptions { Set = PromptSet.Guided };
        Assert.Contains("harmless, unbiased, honest and helpful", guided.Draft);
        Assert.Empty(guided.System);
    }

    [Fact]
    public void The_prompt_set_is_chosen_by_configuration_and_single_templates_override_it()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Prompts:Set"] = "guided", ["Prompts:ScoreOnly"] = "true", ["Prompts:Draft"] = "Q: {question}",
        }).Build();
        var p = new PromptOptions();
        configuration.GetSection(PromptOptions.Section).Bind(p);
        Assert.Equal(PromptSet.Guided, p.Set);
        Assert.True(p.ScoreOnly);
        Assert.Equal("Q: {question}", p.Draft);
        Assert.Contains("harmless, unbiased, honest and helpful", p.PeerFeedback);
    }
}

public sealed class SeedBatchTests
{
    [Fact]
    public void Seed_memories_of_a_large_world_go_in_batches_under_the_size_limit_in_order_and_complete()
    {
        // Grid 40 with 10 memories each and 1536-dimension embeddings: 16,000 entries, about 400 MB as one message.
        var vector = new float[1536];
        var entries = Enumerable.Range(0, 16_000)
            .Select(i => new StableAlignment.Contracts.SeedMemory { AgentId = i / 10, Question = $"Question {i % 97}?", Answer = $"Answer {i}.", Embedding = vector })
            .ToList();
        var batches = StableAlignment.AgentRunner.Sandbox.SimulationRunner.SeedBatches(entries, StableAlignment.AgentRunner.Sandbox.SimulationRunner.SeedBatchBytes).ToList();

        Assert.True(batches.Count > 50, $"{batches.Count} batches");
        Assert.Equal(entries, batches.SelectMany(b => b));
        foreach (var batch in batches)
        {
            var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(batch);
            Assert.True(json.Length <= StableAlignment.AgentRunner.Sandbox.SimulationRunner.SeedBatchBytes, $"{json.Length} bytes");
        }
    }
}
