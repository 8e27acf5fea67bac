using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using StableAlignment.Gateway.Core;
using StableAlignment.Hosting;
using StableAlignment.Testing;

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
        var trace = await Eventually.ReturnsAsync(
            () => Task.FromResult(activities.Where(a => a.TraceId == request.TraceId && a.Source.Name == "MassTransit").Select(Describe).ToList()),
            t => new[] { "QuestionPosed", "RateAnswer", "InteractionCompleted", "InteractionStored" }
                .All(type => t.Any(d => d.Contains(type, StringComparison.Ordinal) || d.Contains(Kebab(type), StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10));
        Assert.NotEmpty(trace);
        // The model calls (HTTP to the model server) are in the same trace too.
        Assert.True(activities.Count(a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == traceId) > 1, "the model server's requests are not in the question's trace");
        Assert.Contains(activities, a => a.TraceId == traceId && a.Source.Name == "MassTransit" && a.ParentSpanId == request.SpanId);
    }

    [Fact]
    public async Task Storing_an_interaction_moves_the_interaction_rating_and_token_counters()
    {
        var measured = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == Telemetry.Name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => measured.AddOrUpdate(instrument.Name, value, (_, v) => v + value));
        listener.Start();

        using var posted = await App.Client.PostAsJsonAsync("/api/questions", new { text = "May I keep a wallet I found?" }, TestContext.Current.CancellationToken);
        var runId = (await posted.Content.ReadFromJsonAsync<PostQuestionsResponse>(TestContext.Current.CancellationToken))!.RunId;
        await Eventually.InteractionsAsync(App.Client, runId, 1);
        await Eventually.ReturnsAsync(() => Task.FromResult(measured.GetValueOrDefault("sa.interactions.completed")), n => n >= 1, TimeSpan.FromSeconds(10));

        Assert.True(measured.GetValueOrDefault("sa.ratings") >= 2, "the observer's two draft ratings were not counted");
    }

    private static string Kebab(string type) =>
        string.Concat(type.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
