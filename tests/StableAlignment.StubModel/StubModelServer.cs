using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StableAlignment.Testing;

/// <summary>What the stub does with one chat request: reply with text, or fail with a status code, after a delay.</summary>
public sealed record StubReply(string? Text = null, HttpStatusCode Status = HttpStatusCode.OK, TimeSpan Delay = default)
{
    public static StubReply Say(string text) => new(text);

    public static StubReply Fail(HttpStatusCode status) => new(null, status);
}

/// <summary>
/// A local OpenAI-compatible server (<c>/v1/chat/completions</c>, <c>/v1/embeddings</c>) with scripted replies,
/// injectable latency and errors. Rules are tried in order; the first whose predicate matches the prompt answers.
/// Without a matching rule: observer prompts get <c>Rating: 6 ### Reason: stub</c>, others a fixed draft.
/// </summary>
public sealed class StubModelServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(Func<string, bool> When, Func<string, StubReply> Reply, int? Times)> _rules = new();
    private readonly ConcurrentDictionary<Func<string, bool>, int> _used = new();
    private readonly ConcurrentBag<string> _prompts = [];
    private int _inFlight;
    private int _maxInFlight;
    private long _busyTicks;

    private StubModelServer(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>The endpoint to configure (<c>Models:Default:Endpoint</c>): <c>{BaseUri}v1</c>.</summary>
    public string Endpoint => new Uri(BaseUri, "v1").ToString();

    public TimeSpan Latency { get; set; }

    /// <summary>Answer every embedding request with a 404, as a chat-only server does.</summary>
    public bool NoEmbeddings { get; set; }

    /// <summary>Answer every embedding request with a 500.</summary>
    public bool FailEmbeddings { get; set; }

    private int _embeddingRequests;

    /// <summary>Chat completion requests served.</summary>
    public int Requests => _prompts.Count;

    public int EmbeddingRequests => _embeddingRequests;

    public int MaxInFlight => _maxInFlight;

    /// <summary>Sum over all requests of the time each was being served (for the share of slots kept busy).</summary>
    public TimeSpan BusyTime => TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks));

    public void ResetCounters()
    {
        Interlocked.Exchange(ref _busyTicks, 0);
        _maxInFlight = 0;
        _prompts.Clear();
    }

    public IReadOnlyCollection<string> Prompts => _prompts;

    /// <param name="urls">Where to listen (default: a free loopback port).</param>
    public static async Task<StubModelServer> StartAsync(string urls = "http://127.0.0.1:0")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(urls);
        var app = builder.Build();
        var stub = new StubModelServer(app);
        app.MapPost("/v1/chat/completions", stub.ChatAsync);
        app.MapPost("/v1/embeddings", stub.EmbeddingsAsync);
        // What a health check or a client listing models asks.
        app.MapGet("/health", () => Results.Ok(new { status = "ok" }));
        app.MapGet("/v1/models", () => Results.Ok(new { @object = "list", data = new[] { new { id = "stub-model", @object = "model" } } }));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        stub.BaseUri = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        return stub;
    }

    /// <summary>Adds a rule; <paramref name="times"/> limits how often it fires (null: always).</summary>
    public StubModelServer When(Func<string, bool> prompt, Func<string, StubReply> reply, int? times = null)
    {
        _rules.Enqueue((prompt, reply, times));
        return this;
    }

    public StubModelServer When(string promptContains, string reply, int? times = null) =>
        When(p => p.Contains(promptContains, StringComparison.Ordinal), _ => StubReply.Say(reply), times);

    private async Task ChatAsync(HttpContext context)
    {
        var request = await JsonNode.ParseAsync(context.Request.Body);
        var prompt = string.Join("\n", request?["messages"]?.AsArray().Select(m => m?["content"]?.GetValue<string>()) ?? []);
        _prompts.Add(prompt);
        var inFlight = Interlocked.Increment(ref _inFlight);
        UpdateMax(inFlight);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var reply = Pick(prompt);
            var delay = reply.Delay > TimeSpan.Zero ? reply.Delay : Latency;
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, context.RequestAborted);
            }

            if (reply.Status != HttpStatusCode.OK)
            {
                context.Response.StatusCode = (int)reply.Status;
                await context.Response.WriteAsJsonAsync(new { error = new { message = "scripted failure", type = "server_error" } });
                return;
            }

            var model = request?["model"]?.GetValue<string>() ?? "stub";
            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-stub",
                @object = "chat.completion",
                created = 1_700_000_000,
                model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = reply.Text }, finish_reason = "stop" } },
                usage = new { prompt_tokens = prompt.Length / 4, completion_tokens = (reply.Text?.Length ?? 0) / 4, total_tokens = (prompt.Length + (reply.Text?.Length ?? 0)) / 4 },
            });
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            Interlocked.Add(ref _busyTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
        }
    }

    private StubReply Pick(string prompt)
    {
        foreach (var rule in _rules)
        {
            if (!rule.When(prompt))
            {
                continue;
            }

            if (rule.Times is { } limit && _used.AddOrUpdate(rule.When, 1, (_, n) => n + 1) > limit)
            {
                continue;
            }

            return rule.Reply(prompt);
        }

        return prompt.Contains("Rating:", StringComparison.Ordinal)
            ? StubReply.Say("Rating: 6 ### Reason: The answer is careful and kind.")
            : StubReply.Say("I would rather help you find a safe and lawful way to do that.");
    }

    private async Task EmbeddingsAsync(HttpContext context)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _embeddingRequests);
        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, context.RequestAborted);
        }

        Interlocked.Add(ref _busyTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
        if (NoEmbeddings)
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "Not Found", type = "invalid_request_error" } });
            return;
        }

        if (FailEmbeddings)
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "scripted embedding failure", type = "server_error" } });
            return;
        }

        var request = await JsonNode.ParseAsync(context.Request.Body);
        var input = request?["input"];
        var texts = input is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToList() : [input!.GetValue<string>()];
        await context.Response.WriteAsJsonAsync(new
        {
            @object = "list",
            data = texts.Select((t, i) => new { @object = "embedding", index = i, embedding = Embed(t) }),
            model = request?["model"]?.GetValue<string>() ?? "stub-embedding",
            usage = new { prompt_tokens = 1, total_tokens = 1 },
        });
    }

    /// <summary>Deterministic bag-of-words vector: texts sharing words are close in cosine distance.</summary>
    public static float[] Embed(string text)
    {
        var v = new float[64];
        foreach (var word in text.ToLowerInvariant().Split([' ', '?', '.', ',', '!'], StringSplitOptions.RemoveEmptyEntries))
        {
            v[(int)((uint)StableHash(word) % 64)] += 1;
        }

        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return norm == 0 ? v : [.. v.Select(x => x / norm)];
    }

    private static int StableHash(string s)
    {
        unchecked
        {
            var h = 17;
            foreach (var c in s)
            {
                h = (h * 31) + c;
            }

            return h;
        }
    }

    private void UpdateMax(int value)
    {
        int seen;
        while (value > (seen = _maxInFlight) && Interlocked.CompareExchange(ref _maxInFlight, value, seen) != seen)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Replies that depend on the whole prompt, so that two runs agree only if every prompt agreed.</summary>
public static class PromptEcho
{
    public static StubModelServer ScriptByPrompt(this StubModelServer stub) => stub.When(_ => true, prompt =>
    {
        var h = Hash(prompt);
        return prompt.Contains("Rating:", StringComparison.Ordinal)
            ? StubReply.Say($"Rating: {1 + (h % 7)} ### Reason: reason {h % 1000}")
            : StubReply.Say($"Answer {h % 100000}: be kind and honest.");
    });

    private static int Hash(string text) =>
        (int)(BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)), 0) & int.MaxValue);
}
