using System.Net;
using System.Net.Http.Json;
using StableAlignment.Gateway.Core;
using StableAlignment.Testing;

namespace StableAlignment.IntegrationTests;

/// <summary>The single-process composition on the real broker and database instead of in-memory and embedded.</summary>
public sealed class SingleProcessOnRabbitMqTests(InfrastructureFixture fixture) : IAsyncLifetime
{
    private StubModelServer _stub = null!;
    private SingleProcessApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        _stub = await StubModelServer.StartAsync();
        _app = await SingleProcessApp.StartAsync(_stub, fixture.Infrastructure.Settings());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Fifty_questions_make_fifty_interactions_once_each()
    {
        var questions = Enumerable.Range(0, 50).Select(i => $"Question number {i}: is it kind to gossip?").ToArray();
        using var response = await _app.Client.PostAsJsonAsync("/api/questions", new { questions });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var posted = (await response.Content.ReadFromJsonAsync<PostQuestionsResponse>())!;
        var stored = await Eventually.InteractionsAsync(_app.Client, posted.RunId, 50, TimeSpan.FromSeconds(60));
        Assert.Equal(50, stored.Count);
        Assert.Equal(50, stored.Select(s => s.Id).Distinct().Count());
        Assert.Equal(questions.Order(), stored.Select(s => s.Question).Order());
    }
}
