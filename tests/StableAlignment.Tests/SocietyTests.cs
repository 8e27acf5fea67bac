using Microsoft.Extensions.DependencyInjection;
using StableAlignment.Models;
using StableAlignment.Society;

namespace StableAlignment.Tests;

public sealed class SocietyTests
{
    [Fact]
    public void Bundled_data_has_300_questions_with_ratings_across_the_scale_and_a_held_out_split_by_situation()
    {
        var questions = SocietyData.Questions();
        Assert.True(questions.Count >= 300);
        Assert.All(questions, q => Assert.True(q.Answers.Select(a => a.Rating).Distinct().Count() >= 3));
        Assert.Equal(60, questions.Count(q => q.Heldout));
        Assert.Empty(questions.Where(q => q.Heldout).Select(q => q.Topic).Intersect(questions.Where(q => !q.Heldout).Select(q => q.Topic)));
    }

    [Fact]
    public void Observer_ratings_of_held_out_answers_correlate_with_their_labels()
    {
        var questions = SocietyData.Questions();
        var rater = LocalRater.Train(questions.Where(q => !q.Heldout).SelectMany(q => q.Answers).Select(a => (a.Text, a.Rating)));
        var held = questions.Where(q => q.Heldout).SelectMany(q => q.Answers).ToList();
        var rho = Spearman.Correlation([.. held.Select(a => (double)rater.Rate(a.Text))], [.. held.Select(a => (double)a.Rating)]);
        TestContext.Current.SendDiagnosticMessage($"Spearman on {held.Count} held-out answers: {rho:F3}");
        Console.WriteLine($"Observer Spearman on {held.Count} held-out answers: {rho:F3}");
        Assert.True(rho >= 0.7, $"Spearman {rho:F3} on {held.Count} held-out answers");
    }

    [Fact]
    public void Spearman_handles_ties_and_order()
    {
        Assert.Equal(1.0, Spearman.Correlation([1, 2, 3], [2, 4, 9]), 9);
        Assert.Equal(-1.0, Spearman.Correlation([1, 2, 3], [3, 2, 1]), 9);
        Assert.Equal(0.866, Spearman.Correlation([1, 2, 2], [1, 2, 3]), 3);
    }
}

public sealed class LocalProviderTests
{
    [Fact]
    public async Task Social_agent_role_moves_to_an_openai_compatible_endpoint_by_configuration_alone()
    {
        var questions = SocietyData.Questions();
        var rater = LocalRater.Train(questions.Where(q => !q.Heldout).SelectMany(q => q.Answers).Select(a => (a.Text, a.Rating)));
        var models = new SocietyModels(TestConfiguration.TempPath("society"), new LlamaForCausalLM(LlamaConfig.Tiny, seed: 1), rater, new SocietyModelOptions());
        await using var stub = await StubModelServer.StartAsync();
        stub.When(p => p.EndsWith("\nAnswer:", StringComparison.Ordinal), _ => StubReply.Say("Talk to them kindly and honestly, and listen to their side."));
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?>
        {
            ["Models:Default:Provider"] = "Local",
            ["Models:Roles:SocialAgent:Provider"] = "OpenAI",
            ["Models:Roles:SocialAgent:Endpoint"] = stub.Endpoint,
            ["Models:Roles:SocialAgent:Model"] = "remote-agent",
        }, s => s.AddSingleton<ILocalModelProvider>(models));

        var (_, records) = await Simulations.RunAsync(app, Simulations.Message(2, 1, [.. questions.Take(4).Select(q => q.Question)]));

        Assert.Equal(4, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal("remote-agent", r.SocialModel);
            Assert.Equal("Talk to them kindly and honestly, and listen to their side.", r.Draft);
            Assert.Equal("local-rater", r.DraftAlignment!.Model);
            Assert.True(r.DraftAlignment.IsValid);
            Assert.True(r.DraftAlignment.Score >= 5, $"kind answer rated {r.DraftAlignment.Score}");
        });
        Assert.Contains(stub.Prompts, p => p.Contains("gave this answer", StringComparison.Ordinal));
        Assert.DoesNotContain(stub.Prompts, p => p.Contains("How well does the answer align", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_society_twice_whatever_the_order_of_concurrent_calls()
    {
        var questions = SocietyData.Questions();
        var rater = LocalRater.Train(questions.Where(q => !q.Heldout).SelectMany(q => q.Answers).Select(a => (a.Text, a.Rating)));
        var agent = new LlamaForCausalLM(LlamaConfig.Tiny, seed: 2);
        async Task<List<string>> RunAsync()
        {
            var models = new SocietyModels(TestConfiguration.TempPath("society"), agent, rater, new SocietyModelOptions { MaxNewTokens = 16 });
            await using var stub = await StubModelServer.StartAsync();
            await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?> { ["Models:Default:Provider"] = "Local" },
                s => s.AddSingleton<ILocalModelProvider>(models));
            var (_, records) = await Simulations.RunAsync(app, Simulations.Message(2, 2, [.. questions.Take(8).Select(q => q.Question)], seed: 5));
            return [.. records.OrderBy(r => (r.Round, r.AgentId)).Select(r => System.Text.Json.JsonSerializer.Serialize(new
            {
                r.Round, r.AgentId, r.Draft, r.Revised, Before = r.DraftAlignment?.RawReply, After = r.RevisedAlignment?.RawReply,
                Peers = r.Peers.Select(p => (p.PeerId, p.Rating.RawReply)).ToList(),
            }))];
        }

        var first = await RunAsync();
        var second = await RunAsync();
        Assert.Equal(8, first.Count);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Local_observer_replies_in_the_rating_form_that_the_real_parser_reads()
    {
        var questions = SocietyData.Questions();
        var rater = LocalRater.Train(questions.Where(q => !q.Heldout).SelectMany(q => q.Answers).Select(a => (a.Text, a.Rating)));
        var observer = new LocalObserverService(rater);
        var held = questions.First(q => q.Heldout);
        var template = new PromptOptions().ObserverAlignment;
        async Task<StableAlignment.Contracts.Rating> Rate(string answer)
        {
            var history = new Microsoft.SemanticKernel.ChatCompletion.ChatHistory();
            history.AddUserMessage(PromptOptions.Fill(template, held.Question, answer));
            var reply = (await observer.GetChatMessageContentsAsync(history))[0].Content!;
            return RatingParser.Parse(StableAlignment.Contracts.RatingAspect.Alignment, reply, "local-rater");
        }

        var best = await Rate(held.Answers.MaxBy(a => a.Rating)!.Text);
        var worst = await Rate(held.Answers.MinBy(a => a.Rating)!.Text);
        Assert.True(best.IsValid && worst.IsValid);
        Assert.True(best.Score > worst.Score, $"aligned {best.Score}, harmful {worst.Score}");
        Assert.Equal(held.Answers.MaxBy(a => a.Rating)!.Text, LocalObserverService.AnswerIn(PromptOptions.Fill(template, held.Question, held.Answers.MaxBy(a => a.Rating)!.Text)));
    }
}
