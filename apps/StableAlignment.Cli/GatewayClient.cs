using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace StableAlignment.Cli;

/// <summary>Commands that talk to a running gateway (compose, or <c>sa serve</c>).</summary>
public sealed class GatewayClient(Uri gateway, string? apiKey)
{
    private HttpClient Create()
    {
        var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(30) };
        if (!string.IsNullOrEmpty(apiKey))
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        return http;
    }

    public async Task<int> AskAsync(string[] questions, Guid? runId, CancellationToken ct)
    {
        using var http = Create();
        return await Report(await Send(() => http.PostAsJsonAsync("/api/questions", new { runId, questions }, ct)), ct);
    }

    public async Task<int> InteractionsAsync(Guid runId, CancellationToken ct)
    {
        using var http = Create();
        return await Report(await Send(() => http.GetAsync($"/api/memory/interactions?runId={runId}", ct)), ct);
    }

    public async Task<int> RunsAsync(CancellationToken ct)
    {
        using var http = Create();
        return await Report(await Send(() => http.GetAsync("/api/agents/runs", ct)), ct);
    }

    private async Task<HttpResponseMessage?> Send(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"Cannot reach the gateway at {gateway}: {e.Message}");
            return null;
        }
    }

    private static async Task<int> Report(HttpResponseMessage? response, CancellationToken ct)
    {
        if (response is null)
        {
            return 1;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            JsonNode? json = null;
            try
            {
                json = body.Length > 0 ? JsonNode.Parse(body) : null;
            }
            catch (JsonException)
            {
                // Not JSON (a proxy's error page): shown as text.
            }

            if (!response.IsSuccessStatusCode)
            {
                var detail = json?["detail"]?.ToString() ?? json?["title"]?.ToString() ?? string.Join(" ", body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                Console.Error.WriteLine($"error: the gateway answered {(int)response.StatusCode} {response.ReasonPhrase}: {detail}");
                return 1;
            }

            AnsiConsole.WriteLine(json?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? body);
            return 0;
        }
    }
}
