using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StableAlignment.Learning;

namespace StableAlignment.ModelServer;

/// <summary>
/// The OpenAI-compatible API over a <see cref="GenerationScheduler"/>: <c>GET /v1/models</c>,
/// <c>POST /v1/chat/completions</c>, <c>POST /v1/completions</c> (both with <c>stream</c>), <c>POST /v1/embeddings</c>.
/// Errors use OpenAI's <c>{"error": {"message", "type", "param", "code"}}</c> shape.
/// </summary>
public static class OpenAiApi
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never };

    /// <param name="model">The one model served (every name maps to it), or null to serve models by name from the configured roots.</param>
    /// <param name="ownsModel">Dispose <paramref name="model"/> with the server; false when the caller keeps using it.</param>
    public static IServiceCollection AddModelServer(this IServiceCollection services, ServedModel? model, bool ownsModel = false)
    {
        services.AddSingleton(sp => new ModelRegistry(sp.GetRequiredService<IOptions<ModelServerOptions>>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(), model, ownsModel));
        services.AddHostedService(sp => sp.GetRequiredService<ModelRegistry>());
        return services;
    }

    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter(async (context, next) =>
        {
            var key = context.HttpContext.RequestServices.GetRequiredService<IOptions<ModelServerOptions>>().Value.ApiKey;
            if (!string.IsNullOrEmpty(key))
            {
                var sent = context.HttpContext.Request.Headers.Authorization.ToString();
                var expected = $"Bearer {key}";
                if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(expected)))
                {
                    return Error(StatusCodes.Status401Unauthorized, "Missing or wrong API key (send Authorization: Bearer KEY).", "invalid_request_error", null, "invalid_api_key");
                }
            }

            return await next(context);
        });
        v1.MapGet("/models", (ModelRegistry r) => Results.Json(new
        {
            @object = "list",
            data = r.Loaded.Select(m => new { id = m.Id, @object = "model", created = m.Created.ToUnixTimeSeconds(), owned_by = "stable-alignment" }),
        }));
        v1.MapGet("/models/{**id}", (string id, ModelRegistry r) => r.Loaded.FirstOrDefault(m => m.Id == Uri.UnescapeDataString(id)) is { } m
            ? Results.Json(new { id = m.Id, @object = "model", created = m.Created.ToUnixTimeSeconds(), owned_by = "stable-alignment" })
            : Error(StatusCodes.Status404NotFound, $"The model '{id}' is not loaded here.", "invalid_request_error", "model", "model_not_found"));
        v1.MapPost("/chat/completions", (HttpContext c, ModelRegistry r, IOptions<ModelServerOptions> o) => CompleteAsync(c, r, o.Value, chat: true));
        v1.MapPost("/completions", (HttpContext c, ModelRegistry r, IOptions<ModelServerOptions> o) => CompleteAsync(c, r, o.Value, chat: false));
        v1.MapPost("/embeddings", EmbedAsync);

        // Any other path under /v1 (the Responses API, assistants, files…) gets OpenAI's own 404 body, not an empty page.
        v1.MapFallback("{**path}", (HttpContext c) => Error(StatusCodes.Status404NotFound,
            $"Invalid URL ({c.Request.Method} {c.Request.Path}): this server implements /v1/models, /v1/chat/completions, /v1/completions and /v1/embeddings.",
            "invalid_request_error", null, "unknown_url"));
        return app;
    }

    /// <summary>A request that cannot be served; becomes a 400 naming the parameter.</summary>
    private sealed class BadRequest(string message, string? param) : Exception(message)
    {
        public string? Param { get; } = param;
    }

    private static async Task<IResult> CompleteAsync(HttpContext http, ModelRegistry registry, ModelServerOptions o, bool chat)
    {
        try
        {
            var body = await ReadAsync(http);
            using var lease = await registry.LeaseAsync(ModelName(body), http.RequestAborted);
            var scheduler = lease.Scheduler;
            var model = scheduler.Model;
            var prompts = chat ? [ChatPrompt(model, Messages(body))] : Prompts(body);
            if (prompts.Any(p => p.Length > o.MaxPromptCharacters))
            {
                throw new BadRequest($"The prompt is longer than {o.MaxPromptCharacters} characters.", chat ? "messages" : "prompt");
            }

            Unsupported(body, chat ? ChatUnsupported : CompletionUnsupported);
            var n = Int(body, "n", 1, 1, MaxChoices);
            var maxTokens = Int(body, chat && body["max_completion_tokens"] is not null ? "max_completion_tokens" : "max_tokens", o.DefaultMaxTokens, 1, o.MaxTokensLimit);
            var temperature = Number(body, "temperature", 1.0, 0, 2);
            var topP = Number(body, "top_p", 1.0, 0, 1);
            var stop = Stops(body);
            var seed = body["seed"] switch
            {
                null => (int?)null,
                JsonValue sv when sv.TryGetValue<long>(out var given) => (int)(given & int.MaxValue),
                _ => throw new BadRequest("'seed' must be an integer.", "seed"),
            };
            var stream = Flag(body, "stream");
            var includeUsage = body["stream_options"] switch
            {
                null => false,
                JsonObject so => Flag(so, "include_usage", "stream_options"),
                _ => throw new BadRequest("'stream_options' must be an object.", "stream_options"),
            };
            var tokens = prompts.Select(p => PromptTokens(model, p, body, o.TruncateLongPrompts, chat ? "messages" : "prompt")).ToList();
            var logprobs = Logprobs(body, chat);
            if (stream && logprobs is not null)
            {
                throw new BadRequest("'logprobs' is not supported with stream; ask without streaming.", "logprobs");
            }


            // n choices per prompt, in OpenAI's order (prompt by prompt), sampled in the same batch: choice i draws with
            // seed + i. Without a seed each request takes the next draw of the server's counter, so repeated calls differ.
            var first = seed ?? NextSeed();
            var sequences = (long)tokens.Count * n;
            if (sequences > o.MaxSequencesPerRequest || sequences * maxTokens > o.MaxTokensPerRequest)
            {
                throw new BadRequest($"The request asks for {sequences} sequences of up to {maxTokens} tokens; this server takes at most {o.MaxSequencesPerRequest} sequences and {o.MaxTokensPerRequest} tokens per request.",
                    n > 1 ? "n" : chat ? "max_tokens" : "prompt");
            }

            var requests = tokens.SelectMany(t => Enumerable.Range(0, n).Select(i =>
                new BatchRequest(t, temperature, topP, maxTokens, (int)((first + (long)i) & int.MaxValue), stop, TopLogprobs: logprobs))).ToList();
            var id = $"{(chat ? "chatcmpl" : "cmpl")}-{Guid.NewGuid():N}";
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (stream)
            {
                if (requests.Count != 1)
                {
                    throw new BadRequest("Streaming takes one prompt and one choice (n = 1).", n > 1 ? "n" : "prompt");
                }

                await StreamAsync(http, scheduler, requests[0], id, created, chat, includeUsage);
                return Results.Empty;
            }

            // All of the request's sequences are queued, or none (503): nothing is left to decode for nobody.
            var results = await Task.WhenAll(scheduler.GenerateAll(requests, http.RequestAborted));
            var usage = Usage(results);
            return chat
                ? Results.Json(new
                {
                    id, @object = "chat.completion", created, model = model.Id,
                    choices = results.Select((r, i) => new { index = i, message = new { role = "assistant", content = r.Text }, logprobs = ChatLogprobs(r, model.Tokenizer), finish_reason = r.FinishReason.ToWire() }),
                    usage, system_fingerprint = (string?)null,
                }, Json)
                : Results.Json(new
                {
                    id, @object = "text_completion", created, model = model.Id,
                    choices = results.Select((r, i) => new { index = i, text = r.Text, logprobs = CompletionLogprobs(r, model.Tokenizer), finish_reason = r.FinishReason.ToWire() }),
                    usage,
                }, Json);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Failure(http, e);
        }
    }

    /// <summary>The prompt of a chat; a conversation the model's chat template refuses (its raise_exception) is a 400 naming messages.</summary>
    private static string ChatPrompt(ServedModel model, List<(string Role, string Content)> messages)
    {
        try
        {
            return model.ChatPrompt(messages);
        }
        catch (ArgumentException e)
        {
            throw new BadRequest(e.Message, "messages");
        }
    }

    /// <summary>Texts per embeddings request at most (OpenAI's own limit).</summary>
    public const int MaxEmbeddingInputs = 2048;

    private static string? ModelName(JsonObject body) => body["model"] is JsonValue v && v.TryGetValue<string>(out var name) ? name : null;

    private static IResult Failure(HttpContext http, Exception e)
    {
        switch (e)
        {
            case BadRequest bad:
                return Error(StatusCodes.Status400BadRequest, bad.Message, "invalid_request_error", bad.Param, null);
            case ModelNotFoundException:
                return Error(StatusCodes.Status404NotFound, e.Message, "invalid_request_error", "model", "model_not_found");
            case QueueFullException:
                http.Response.Headers.RetryAfter = "1";
                return Error(StatusCodes.Status503ServiceUnavailable, e.Message, "server_error", null, "queue_full");
            default:
                // A failed batch (out of memory, a broken checkpoint): logged by the worker; the client gets the API's error shape.
                return Error(StatusCodes.Status500InternalServerError, $"The model failed: {e.Message}", "server_error", null, null);
        }
    }

    private static async Task StreamAsync(HttpContext http, GenerationScheduler scheduler, BatchRequest request, string id, long created, bool chat, bool includeUsage)
    {
        var pieces = Channel.CreateUnbounded<string>();
        var done = scheduler.GenerateAsync(request, text => pieces.Writer.TryWrite(text), http.RequestAborted);
        _ = done.ContinueWith(_ => pieces.Writer.TryComplete(), TaskScheduler.Default);
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var model = scheduler.Model.Id;
        var kind = chat ? "chat.completion.chunk" : "text_completion";
        object Choice(string? text, string? finish, bool first) => chat
            ? new { index = 0, delta = first ? new { role = "assistant", content = text } : (object)(text is null ? new { } : new { content = text }), logprobs = (object?)null, finish_reason = finish }
            : new { index = 0, text = text ?? string.Empty, logprobs = (object?)null, finish_reason = finish };
        async Task Send(object payload)
        {
            await http.Response.WriteAsync($"data: {JsonSerializer.Serialize(payload, Json)}\n\n", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
        }

        var first = true;
        if (chat)
        {
            await Send(new { id, @object = kind, created, model, choices = new[] { Choice(string.Empty, null, true) } });
            first = false;
        }

        await foreach (var text in pieces.Reader.ReadAllAsync(http.RequestAborted))
        {
            await Send(new { id, @object = kind, created, model, choices = new[] { Choice(text, null, first) } });
            first = false;
        }

        BatchResult result;
        try
        {
            result = await done;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The status line is sent already: the failure goes as an error event, as OpenAI's servers do mid-stream.
            await Send(new { error = new { message = $"The model failed: {e.Message}", type = "server_error", param = (string?)null, code = (string?)null } });
            await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted);
            return;
        }

        await Send(new { id, @object = kind, created, model, choices = new[] { Choice(chat ? null : string.Empty, result.FinishReason.ToWire(), false) } });
        if (includeUsage)
        {
            await Send(new { id, @object = kind, created, model, choices = Array.Empty<object>(), usage = Usage([result]) });
        }

        await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted);
    }

    private static async Task<IResult> EmbedAsync(HttpContext http, ModelRegistry registry)
    {
        try
        {
            var body = await ReadAsync(http);
            using var lease = await registry.LeaseAsync(ModelName(body), http.RequestAborted);
            var scheduler = lease.Scheduler;
            Unsupported(body, EmbeddingUnsupported);
            var inputs = body["input"] switch
            {
                JsonValue v when v.TryGetValue<string>(out var one) => [one],
                JsonArray a when a.All(x => x is JsonValue xv && xv.TryGetValue<string>(out _)) => a.Select(x => x!.GetValue<string>()).ToList(),
                _ => throw new BadRequest("'input' must be a string or an array of strings.", "input"),
            };
            if (inputs.Count == 0 || inputs.Any(i => i.Length == 0))
            {
                throw new BadRequest("'input' must not be empty.", "input");
            }

            if (inputs.Count > MaxEmbeddingInputs || inputs.Any(i => i.Length > registry.Options.MaxPromptCharacters))
            {
                throw new BadRequest($"'input' takes at most {MaxEmbeddingInputs} texts of at most {registry.Options.MaxPromptCharacters} characters each.", "input");
            }

            var format = body["encoding_format"] switch
            {
                null => "float",
                JsonValue f when f.TryGetValue<string>(out var name) && name is "float" or "base64" => name,
                _ => throw new BadRequest("'encoding_format' must be 'float' or 'base64'.", "encoding_format"),
            };

            var (vectors, tokens) = await scheduler.EmbedAsync(inputs, http.RequestAborted);
            // Marked as what they are: mean-pooled hidden states of a causal language model, not a trained embedding model.
            http.Response.Headers["X-Embedding-Pooling"] = "mean-last-hidden-state";
            return Results.Json(new
            {
                @object = "list",
                // base64: the little-endian float32 bytes, as OpenAI's own clients ask for by default.
                data = vectors.Select((v, i) => new { @object = "embedding", index = i, embedding = format == "float" ? (object)v : Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan())) }),
                model = scheduler.Model.Id,
                pooling = "mean of the last hidden states (L2-normalised)",
                usage = new { prompt_tokens = tokens, total_tokens = tokens },
            }, Json);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Failure(http, e);
        }
    }

    private static async Task<JsonObject> ReadAsync(HttpContext http)
    {
        try
        {
            var body = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted) as JsonObject
                ?? throw new BadRequest("The body must be a JSON object.", null);
            Materialize(body);
            return body;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or DecoderFallbackException)
        {
            throw new BadRequest($"The body is not valid JSON text: {e.Message}", null);
        }
    }

    /// <summary>
    /// Reads every name and string of the body once, so text that is not valid Unicode (invalid UTF-8, a lone surrogate
    /// escape) is refused here, as a 400, instead of failing later where the field is first read.
    /// </summary>
    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    Materialize(child);
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    Materialize(child);
                }

                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                _ = v.GetValue<string>();
                break;
        }
    }

    private static List<(string Role, string Content)> Messages(JsonObject body)
    {
        if (body["messages"] is not JsonArray { Count: > 0 } messages)
        {
            throw new BadRequest("'messages' must be a non-empty array.", "messages");
        }

        return [.. messages.Select((m, i) =>
        {
            if (m is not JsonObject)
            {
                throw new BadRequest($"messages[{i}] must be an object with a role and content.", "messages");
            }

            var role = m["role"] is JsonValue r && r.TryGetValue<string>(out var rs) ? rs : throw new BadRequest($"messages[{i}].role is missing or not a string.", "messages");
            if (role is not ("system" or "developer" or "user" or "assistant" or "tool"))
            {
                throw new BadRequest($"messages[{i}].role '{role}' is not one of system, developer, user, assistant, tool.", "messages");
            }

            var content = m["content"] switch
            {
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                // The array form: text parts are joined; other parts (images, audio) cannot be read by a text model.
                JsonArray parts => string.Concat(parts.Select(p => p is JsonObject && p["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == "text"
                    ? p["text"] is JsonValue text && text.TryGetValue<string>(out var part) ? part : throw new BadRequest($"messages[{i}] has a text part without a string 'text'.", "messages")
                    : throw new BadRequest($"messages[{i}] has a content part of type '{(p is JsonObject ? p["type"]?.ToJsonString() : p?.ToJsonString())}', which a text model cannot read.", "messages"))),
                null when role == "assistant" => string.Empty,
                _ => throw new BadRequest($"messages[{i}].content must be a string or an array of text parts.", "messages"),
            };
            return (role, content);
        })];
    }

    private static List<string> Prompts(JsonObject body) => body["prompt"] switch
    {
        JsonValue v when v.TryGetValue<string>(out var one) => [one],
        JsonArray { Count: > 0 } a when a.All(x => x is JsonValue xv && xv.TryGetValue<string>(out _)) => [.. a.Select(x => x!.GetValue<string>())],
        _ => throw new BadRequest("'prompt' must be a string or a non-empty array of strings.", "prompt"),
    };

    private static List<string> Stops(JsonObject body) => body["stop"] switch
    {
        null => [],
        JsonValue v when v.TryGetValue<string>(out var one) => [one],
        JsonArray a when a.Count <= 4 && a.All(x => x is JsonValue xv && xv.TryGetValue<string>(out _)) => [.. a.Select(x => x!.GetValue<string>())],
        _ => throw new BadRequest("'stop' must be a string or an array of up to 4 strings.", "stop"),
    };

    private static bool Flag(JsonObject body, string name, string? param = null) => body[name] switch
    {
        null => false,
        JsonValue v when v.TryGetValue<bool>(out var on) => on,
        _ => throw new BadRequest($"'{name}' must be true or false.", param ?? name),
    };

    private static int Int(JsonObject body, string name, int fallback, int min, int max)
    {
        if (body[name] is null)
        {
            return fallback;
        }

        if (body[name] is JsonValue v && v.TryGetValue<int>(out var i) && i >= min && i <= max)
        {
            return i;
        }

        throw new BadRequest($"'{name}' must be an integer from {min} to {max}.", name);
    }

    private static double Number(JsonObject body, string name, double fallback, double min, double max)
    {
        if (body[name] is null)
        {
            return fallback;
        }

        if (body[name] is JsonValue v && v.TryGetValue<double>(out var d) && d >= min && d <= max)
        {
            return d;
        }

        throw new BadRequest(string.Create(CultureInfo.InvariantCulture, $"'{name}' must be a number from {min} to {max}."), name);
    }

    private static object Usage(IReadOnlyList<BatchResult> results) => new
    {
        prompt_tokens = results.Sum(r => r.PromptTokens),
        completion_tokens = results.Sum(r => r.CompletionTokens),
        total_tokens = results.Sum(r => r.PromptTokens + r.CompletionTokens),
    };

    private static IResult Error(int status, string message, string type, string? param, string? code) =>
        Results.Json(new { error = new { message, type, param, code } }, statusCode: status);

    /// <summary>
    /// The alternatives asked for per token, or null for none. Chat: <c>logprobs</c> true, with <c>top_logprobs</c>
    /// 0–20. Completions: <c>logprobs</c> 0–5 (the legacy API's form).
    /// </summary>
    private static int? Logprobs(JsonObject body, bool chat)
    {
        if (!chat)
        {
            return body["logprobs"] is null ? null : Int(body, "logprobs", 0, 0, 5);
        }

        var on = Flag(body, "logprobs");
        if (!on && body["top_logprobs"] is not null)
        {
            throw new BadRequest("'top_logprobs' needs 'logprobs': true.", "top_logprobs");
        }

        return on ? Int(body, "top_logprobs", 0, 0, 20) : null;
    }

    private static object? ChatLogprobs(BatchResult r, ITokenizer tokenizer) => r.Logprobs is null ? null : new
    {
        content = r.Logprobs.Select(t => new
        {
            token = tokenizer.Decode([t.Token]), logprob = t.Logprob, bytes = Bytes(tokenizer.Decode([t.Token])),
            top_logprobs = t.Top.Select(x => new { token = tokenizer.Decode([x.Token]), logprob = x.Logprob, bytes = Bytes(tokenizer.Decode([x.Token])) }),
        }),
        refusal = (object?)null,
    };

    private static object? CompletionLogprobs(BatchResult r, ITokenizer tokenizer)
    {
        if (r.Logprobs is null)
        {
            return null;
        }

        var tokens = r.Logprobs.Select(t => tokenizer.Decode([t.Token])).ToList();
        var offsets = new List<int>();
        var at = 0;
        foreach (var t in tokens)
        {
            offsets.Add(at);
            at += t.Length;
        }

        return new
        {
            tokens, token_logprobs = r.Logprobs.Select(t => t.Logprob),
            top_logprobs = r.Logprobs.Select(t => t.Top.GroupBy(x => tokenizer.Decode([x.Token])).ToDictionary(g => g.Key, g => g.First().Logprob)),
            text_offset = offsets,
        };
    }

    private static int[] Bytes(string text) => [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)];

    /// <summary>Choices per prompt at most (<c>n</c>).</summary>
    public const int MaxChoices = 8;

    private static long _draws;

    /// <summary>The seed of a request that sends none: the next value of a per-process counter, spread by a 64-bit mix, so no two requests share it.</summary>
    private static int NextSeed()
    {
        var x = (ulong)Interlocked.Increment(ref _draws) * 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9UL;
        return (int)((x ^ (x >> 29)) & int.MaxValue);
    }

    /// <summary>
    /// A prompt's tokens. A prompt that leaves no room in the model's context is refused with both lengths, unless the
    /// caller asks for <c>truncate_prompt_tokens</c> (as vLLM names it): then only its last that many tokens are kept;
    /// or unless the server is set to <see cref="ModelServerOptions.TruncateLongPrompts"/>.
    /// </summary>
    private static List<int> PromptTokens(ServedModel model, string prompt, JsonObject body, bool truncate, string param)
    {
        var tokens = model.Tokenizer.Encode(prompt).ToList();
        var context = model.Model.Config.MaxPositions;
        var room = context - model.Tokenizer.Start.Count() - 1;
        if (body["truncate_prompt_tokens"] is not null)
        {
            var keep = Int(body, "truncate_prompt_tokens", room, 1, room);
            return tokens.Count > keep ? tokens[^keep..] : tokens;
        }

        return tokens.Count <= room || truncate ? tokens
            : throw new BadRequest($"The prompt has {tokens.Count} tokens; this model's context is {context} tokens, which leaves room for {room} (send truncate_prompt_tokens to keep only the last ones).", param);
    }

    /// <summary>
    /// Parameters of the OpenAI API this server does not implement, each with the values that ask for nothing (so a client
    /// that always sends them, switched off, is served). Any other value is a 400 naming the parameter: never a silent 200
    /// that ignores what was asked.
    /// </summary>
    private static readonly Dictionary<string, Func<JsonNode, bool>> ChatUnsupported = new()
    {
        ["tools"] = v => v is JsonArray { Count: 0 },
        ["tool_choice"] = v => v is JsonValue s && s.TryGetValue<string>(out var c) && c == "none",
        ["functions"] = v => v is JsonArray { Count: 0 },
        ["function_call"] = v => v is JsonValue s && s.TryGetValue<string>(out var c) && c == "none",
        ["parallel_tool_calls"] = _ => true,
        ["response_format"] = v => v["type"] is JsonValue t && t.TryGetValue<string>(out var kind) && kind == "text",
        ["logit_bias"] = v => v is JsonObject { Count: 0 },
        ["audio"] = _ => false,
        ["modalities"] = v => v is JsonArray a && a.All(m => m is JsonValue s && s.TryGetValue<string>(out var t) && t == "text"),
        ["prediction"] = _ => false,
        ["web_search_options"] = _ => false,
    };

    private static readonly Dictionary<string, Func<JsonNode, bool>> CompletionUnsupported = new()
    {
        ["echo"] = v => v is JsonValue b && b.TryGetValue<bool>(out var on) && !on,
        ["logit_bias"] = v => v is JsonObject { Count: 0 },
        ["best_of"] = v => v is JsonValue i && i.TryGetValue<int>(out var k) && k == 1,
        ["suffix"] = v => v is JsonValue s && s.TryGetValue<string>(out var t) && t.Length == 0,
    };

    private static readonly Dictionary<string, Func<JsonNode, bool>> EmbeddingUnsupported = new()
    {
        ["dimensions"] = _ => false,
    };

    private static void Unsupported(JsonObject body, Dictionary<string, Func<JsonNode, bool>> table)
    {
        foreach (var (name, harmless) in table)
        {
            if (body[name] is { } value && !harmless(value))
            {
                throw new BadRequest($"'{name}' is not supported by this server (only its default is accepted).", name);
            }
        }
    }
}
