using System.Net;
using System.Net.Http.Json;
using RabbitMQ.Client;
using StableAlignment.Gateway;

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

    /// <summary>The AMQP cases of <c>tests/data/bad-inputs</c>: each raw message faults to its consumer's error queue with the reason, and nothing is stored.</summary>
    [Fact]
    public async Task Every_amqp_case_faults_to_the_error_queue_with_its_reason()
    {
        var corpus = Path.Combine(RepositoryRoot.Combine("tests", "data", "bad-inputs"), "cases.json");
        var cases = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(corpus))!.AsArray()
            .Where(c => c!["channel"]!.GetValue<string>() == "amqp").Select(c => c!).ToList();
        Assert.NotEmpty(cases);
        await using var connection = await new ConnectionFactory { Uri = new Uri(fixture.Infrastructure.RabbitMqUri) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var failures = new List<string>();
        foreach (var c in cases)
        {
            var queue = c["errorQueue"]!.GetValue<string>();
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
            await channel.QueuePurgeAsync(queue);
            var properties = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
            await channel.BasicPublishAsync($"StableAlignment.Contracts:{c["exchange"]!.GetValue<string>()}", string.Empty, mandatory: false, properties, Encoding.UTF8.GetBytes(c["body"]!.GetValue<string>()));
            var count = await Eventually.ReturnsAsync(async () => (await channel.QueueDeclarePassiveAsync(queue)).MessageCount, n => n >= 1, TimeSpan.FromSeconds(30));
            var message = count == 1 ? await channel.BasicGetAsync(queue, autoAck: true) : null;
            var reason = message?.BasicProperties.Headers?.TryGetValue("MT-Fault-Message", out var r) == true ? Encoding.UTF8.GetString((byte[])r!) : null;
            var expected = c["expect"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
            if (reason is null)
            {
                failures.Add($"{c["id"]}: {count} messages in {queue}, no fault reason");
            }
            else if (expected.FirstOrDefault(e => !reason.Contains(e, StringComparison.Ordinal)) is { } missing)
            {
                failures.Add($"{c["id"]}: the fault does not say '{missing}': {reason}");
            }
        }

        Assert.Empty(await _app.Interactions.ListByRunAsync(Guid.Parse("11111111-1111-1111-1111-111111111111")));
        TestContext.Current.TestOutputHelper?.WriteLine($"bad-input corpus: {cases.Count} AMQP cases, {cases.Count - failures.Count} passed");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
