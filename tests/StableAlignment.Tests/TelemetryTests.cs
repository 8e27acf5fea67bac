using System.Collections.Concurrent;
using System.Diagnostics;
using StableAlignment.Gateway;
using StableAlignment.Primitives;

namespace StableAlignment.Tests;

/// <summary>One question is one connected trace across the services it crosses, and the project's counters move.</summary>
public sealed class TelemetryTests : SingleProcessTest
{
    [Fact]
    public async Task One_question_yields_one_trace_from_the_gateway_through_agent_runner_and_observer_rater_to_memory_store()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "MassTransit" or "Microsoft.AspNetCore" or Telemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        // The caller's trace context (W3C traceparent), as an instrumented client would send it.
        var traceId = ActivityTraceId.CreateRandom();
        using var message = new HttpRequestMessage(HttpMethod.Post, "/api/questions")
        {
            Content = JsonContent.Create(new { text = "Is it fine to read a friend's diary?" }),
        };
        var callerSpan = ActivitySpanId.CreateRandom();
        message.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
        using var posted = await App.Client.SendAsync(message, TestContext.Current.CancellationToken);
        var runId = (await posted.Content.ReadFromJsonAsync<PostQuestionsResponse>(TestContext.Current.CancellationToken))!.RunId;
        await Eventually.InteractionsAsync(App.Client, runId, 1);

        var request = Assert.Single(activities, a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == traceId && a.ParentSpanId == callerSpan);
        string Describe(Activity a) => $"{a.DisplayName} {string.Join(' ', a.TagObjects.Select(t => t.Value))}";
        string[] types = ["QuestionPosed", "RateAnswer", "InteractionCompleted", "InteractionStored"];
        bool InTrace(List<string> t, string type) => t.Any(d => d.Contains(type, StringComparison.Ordinal) || d.Contains(Kebab(type), StringComparison.Ordinal));
        var trace = await Eventually.ReturnsAsync(
            () => Task.FromResult(activities.Where(a => a.TraceId == request.TraceId && a.Source.Name == "MassTransit").Select(Describe).ToList()),
            t => types.All(type => InTrace(t, type)),
            TimeSpan.FromSeconds(10),
            "the four messages of the question in its trace");
        Assert.All(types, type => Assert.True(InTrace(trace, type), $"{type} is not in the question's trace: {string.Join(" | ", trace)}"));
        // The model calls (HTTP to the model server) are in the same trace too.
        Assert.True(activities.Count(a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == traceId) > 1, "the model server's requests are not in the question's trace");
        Assert.Contains(activities, a => a.TraceId == traceId && a.Source.Name == "MassTransit" && a.ParentSpanId == request.SpanId);
    }

    [Fact]
    public async Task Storing_an_interaction_moves_the_interaction_rating_and_token_counters()
    {
        using var measured = new MeterWatch();

        using var posted = await App.Client.PostAsJsonAsync("/api/questions", new { text = "May I keep a wallet I found?" }, TestContext.Current.CancellationToken);
        var runId = (await posted.Content.ReadFromJsonAsync<PostQuestionsResponse>(TestContext.Current.CancellationToken))!.RunId;
        await Eventually.InteractionsAsync(App.Client, runId, 1);
        await Eventually.ReturnsAsync(() => Task.FromResult(measured.Sum("sa.interactions.completed")), n => n >= 1, TimeSpan.FromSeconds(10));

        Assert.True(measured.Sum("sa.ratings") >= 2, "the observer's two draft ratings were not counted");
        Assert.True(measured.Sum("sa.model.tokens") > 0, "the model tokens of the stored record were not counted");
    }

    [Fact]
    public async Task Tokens_of_a_priced_model_are_counted_as_cost_by_model_and_role()
    {
        // Models:Prices in the configuration, as an operator sets it: 1 per 1,000 prompt tokens, 2 per 1,000 completion tokens.
        await using var app = await SingleProcessApp.StartAsync(Stub, new Dictionary<string, string?>
        {
            ["Models:Prices:stub-model:PromptPer1K"] = "1", ["Models:Prices:stub-model:CompletionPer1K"] = "2",
        });
        using var meters = new MeterWatch((name, tags) => name is "sa.model.cost" or "sa.model.tokens" && tags.GetValueOrDefault("model") is "stub-model");
        using var posted = await app.Client.PostAsJsonAsync("/api/questions", new { text = "Should I tell my friend the truth about the gift?" }, TestContext.Current.CancellationToken);
        var runId = (await posted.Content.ReadFromJsonAsync<PostQuestionsResponse>(TestContext.Current.CancellationToken))!.RunId;
        var stored = await Eventually.InteractionsAsync(app.Client, runId, 1);

        // The cost is the record's own token counts at those prices (only this app has prices, so only its records cost).
        var expected = stored.SelectMany(r => r.Tokens).Where(t => t.Model == "stub-model")
            .Sum(t => (t.PromptTokens / 1000.0) + (2 * t.CompletionTokens / 1000.0));
        Assert.True(expected > 0, "the stub reported no tokens");
        var cost = await Eventually.ReturnsAsync(() => Task.FromResult(meters.Sum("sa.model.cost")), c => Math.Abs(c - expected) < 1e-9, TimeSpan.FromSeconds(10));
        Assert.Equal(expected, cost, 1e-9);
    }

    private static string Kebab(string type) =>
        string.Concat(type.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
