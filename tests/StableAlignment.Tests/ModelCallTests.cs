using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StableAlignment.Gateway;
using StableAlignment.Models;
using StableAlignment.Storage;

namespace StableAlignment.Tests;

/// <summary>One retry layer for model calls, a client deadline that covers every attempt, circuits per endpoint and role.</summary>
public sealed class ModelCallTests
{
    private static ServiceProvider Models(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        services.AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddStableAlignmentModels();
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Calls_beyond_an_endpoints_slots_wait_and_are_counted_as_waiting_until_they_run()
    {
        var endpoint = $"http://throttle-{Guid.NewGuid():N}.test/v1";
        using var meters = new MeterWatch((name, tags) => name == "sa.model.calls.waiting" && (string?)tags.GetValueOrDefault("endpoint") == endpoint);
        var throttle = new EndpointThrottle(Microsoft.Extensions.Options.Options.Create(new ModelsOptions { MaxConcurrentCalls = 1 }));
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = throttle.RunAsync(endpoint, () => release.Task, TestContext.Current.CancellationToken);
        var second = throttle.RunAsync(endpoint, () => Task.FromResult(2), TestContext.Current.CancellationToken);

        await Eventually.ReturnsAsync(() => Task.FromResult(meters.Sum("sa.model.calls.waiting")), n => n == 1, TimeSpan.FromSeconds(5));
        Assert.False(second.IsCompleted);
        release.SetResult(1);
        int[] results = await Task.WhenAll(first, second);
        Assert.Equal([1, 2], results);
        Assert.Equal(0, meters.Sum("sa.model.calls.waiting"));
        Assert.Equal(1, meters.Peak("sa.model.calls.waiting"));
    }

    [Fact]
    public void The_client_deadline_covers_every_attempt_of_the_retry_pipeline()
    {
        using var provider = Models(new() { ["Models:TimeoutSeconds"] = "120" });
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient(ConfiguredModelCatalog.ClientName(ModelRole.Observer));
        Assert.Equal(TimeSpan.FromSeconds((120 * 4) + 10), client.Timeout);
    }

    [Fact]
    public async Task A_failing_endpoint_opens_only_its_own_circuit()
    {
        await using var failing = await StubModelServer.StartAsync();
        failing.When(_ => true, _ => new StubReply("no", HttpStatusCode.InternalServerError));
        await using var healthy = await StubModelServer.StartAsync();
        using var provider = Models(new()
        {
            ["Models:Roles:Observer:Endpoint"] = failing.Endpoint, ["Models:Roles:Observer:Model"] = "bad",
            ["Models:Roles:SocialAgent:Endpoint"] = healthy.Endpoint, ["Models:Roles:SocialAgent:Model"] = "good",
        });
        var catalog = provider.GetRequiredService<IModelCatalog>();

        // 6 calls × 4 attempts, all 500s: the observer endpoint's circuit opens.
        for (var i = 0; i < 6; i++)
        {
            await Assert.ThrowsAsync<ModelCallException>(() => catalog.Chat(ModelRole.Observer).ReplyAsync($"Rate answer {i}"));
        }

        var before = failing.Requests;
        await Assert.ThrowsAsync<ModelCallException>(() => catalog.Chat(ModelRole.Observer).ReplyAsync("Rate once more"));
        Assert.Equal(before, failing.Requests);

        var reply = await catalog.Chat(ModelRole.SocialAgent).ReplyAsync("Is honesty good?");
        Assert.False(string.IsNullOrEmpty(reply.Text));
    }

    [Fact]
    public async Task A_failing_observer_costs_the_pipeline_attempts_only_not_consumer_retries_on_top()
    {
        await using var stub = await StubModelServer.StartAsync();
        stub.When(p => p.Contains("Rating:", StringComparison.Ordinal), _ => new StubReply("no", HttpStatusCode.InternalServerError));
        await using var app = await SingleProcessApp.StartAsync(stub);
        using var posted = await app.Client.PostAsJsonAsync("/api/questions", new { text = "Is it fine to lie?" });
        var runId = (await posted.Content.ReadFromJsonAsync<PostQuestionsResponse>())!.RunId;

        var stored = Assert.Single(await Eventually.InteractionsAsync(app.Client, runId, 1, TimeSpan.FromSeconds(60)));
        Assert.Equal(InteractionStatus.Failed, stored.Status);
        Assert.Contains("500", stored.FailureReason, StringComparison.Ordinal);
        // The draft, then each of the two ratings: 1 attempt + 3 retries.
        Assert.Equal(1 + (2 * 4), stub.Requests);
    }
}
