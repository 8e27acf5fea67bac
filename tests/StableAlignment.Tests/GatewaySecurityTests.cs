using System.Text;

namespace StableAlignment.Tests;

/// <summary>Keys on every request (read and admin), rate limits per key and per IP address, body limits, health without detail.</summary>
public sealed class GatewaySecurityTests : IAsyncLifetime
{
    private const string ReadKey = "read-only-key-456";
    private StubModelServer _stub = null!;
    private SingleProcessApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        _stub = await StubModelServer.StartAsync();
        _app = await SingleProcessApp.StartAsync(_stub, new Dictionary<string, string?>
        {
            ["Gateway:ReadKeys:0"] = ReadKey,
            ["Gateway:MaxRequestBodyBytes"] = (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Gateway:AnonymousPermitsPerMinute"] = "5",
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    private HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = _app.Client.BaseAddress };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        return client;
    }

    [Theory]
    [InlineData("/api/agents/runs")]
    [InlineData("/api/datasets")]
    [InlineData("/api/evaluations")]
    public async Task Anonymous_reads_are_refused_and_a_read_key_may_read(string url)
    {
        using var anonymous = Client(null);
        using var refused = await anonymous.GetAsync(url);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var wrong = Client("not-a-configured-key");
        using var refusedWrong = await wrong.GetAsync(url);
        Assert.Equal(HttpStatusCode.Unauthorized, refusedWrong.StatusCode);

        using var reader = Client(ReadKey);
        using var read = await reader.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Fact]
    public async Task A_read_key_cannot_change_anything_and_the_admin_key_can()
    {
        using var reader = Client(ReadKey);
        using var forbidden = await reader.PostAsJsonAsync("/api/questions", new { text = "Is it fine to lie?" });
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        using var accepted = await _app.Client.PostAsJsonAsync("/api/questions", new { text = "Is it fine to lie?" });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var posted = (await accepted.Content.ReadFromJsonAsync<StableAlignment.Gateway.PostQuestionsResponse>())!;
        Assert.Single(await Eventually.InteractionsAsync(reader, posted.RunId, 1));
    }

    [Fact]
    public async Task Health_shows_status_to_everyone_and_detail_only_with_the_admin_key()
    {
        using var anonymous = Client(null);
        var open = await (await anonymous.GetAsync("/health")).Content.ReadAsStringAsync();
        Assert.Contains("\"status\":\"Healthy\"", open, StringComparison.Ordinal);
        Assert.DoesNotContain("\"description\":\"", open, StringComparison.Ordinal);
        var admin = await (await _app.Client.GetAsync("/health")).Content.ReadAsStringAsync();
        Assert.Contains("\"description\":\"", admin, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_declared_or_chunked()
    {
        var big = "{\"text\":\"" + new string('a', 3 << 20) + "\"}";
        using var declared = new HttpRequestMessage(HttpMethod.Post, "/api/questions") { Content = new StringContent(big, Encoding.UTF8, "application/json") };
        declared.Headers.ExpectContinue = true;
        using var refused = await _app.Client.SendAsync(declared);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);

        // Without a declared length the limit is found while reading: just over it, so that the client has sent it all.
        var over = "{\"questions\":[\"" + new string('a', (1 << 20) + 1024) + "\"]}";
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(over)));
        chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/agents/runs") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Requests_without_a_valid_key_are_rate_limited_per_ip_and_keyed_ones_go_on()
    {
        using var anonymous = Client("wrong-key-000");
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await anonymous.GetAsync("/api/agents/runs");
            codes.Add(response.StatusCode);
        }

        Assert.Equal(5, codes.Count(c => c == HttpStatusCode.Unauthorized));
        Assert.Equal(3, codes.Count(c => c == HttpStatusCode.TooManyRequests));
        using var keyed = await _app.Client.GetAsync("/api/agents/runs");
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
    }

    [Fact]
    public async Task Each_key_has_its_own_budget()
    {
        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?> { ["Gateway:PermitsPerMinutePerKey"] = "3", ["Gateway:ReadKeys:0"] = ReadKey });
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await app.Client.GetAsync("/api/agents/runs");
            codes.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], codes);
        using var reader = new HttpClient { BaseAddress = app.Client.BaseAddress };
        reader.DefaultRequestHeaders.Add("X-Api-Key", ReadKey);
        using var other = await reader.GetAsync("/api/agents/runs");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Theory]
    [InlineData("short", "at least 8")]
    [InlineData(TestConfiguration.ApiKey, "must differ")]
    public async Task A_read_key_that_is_too_short_or_the_admin_key_stops_the_start(string readKey, string message)
    {
        await using var stub = await StubModelServer.StartAsync();
        var e = await Assert.ThrowsAnyAsync<Exception>(() => SingleProcessApp.StartAsync(stub, new Dictionary<string, string?> { ["Gateway:ReadKeys:0"] = readKey }));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
