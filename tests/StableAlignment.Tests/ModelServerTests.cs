using System.ClientModel;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenAI;
using StableAlignment.ModelServer;

namespace StableAlignment.Tests;

/// <summary>
/// <c>sa serve-model</c>'s API, spoken to by Semantic Kernel's OpenAI connector (the society's own client) and by a raw
/// HTTP client checked against the OpenAI response schema.
/// </summary>
public sealed class ModelServerTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private ServedModel _model = null!;
    private HttpClient _http = null!;
    private Uri _endpoint = null!;
    private const string Key = "test-server-key";

    public async ValueTask InitializeAsync()
    {
        TorchRuntime.Initialize(0);
        _model = ServedModel.From("tiny-test", new LlamaForCausalLM(LlamaConfig.Tiny, seed: 5), new ByteTokenizer(), ServedModel.AlpacaTemplate);
        _app = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?> { ["ModelServer:ApiKey"] = Key, ["ModelServer:BatchWindowMilliseconds"] = "50" }, _model);
        await _app.StartAsync(TestContext.Current.CancellationToken);
        _endpoint = ModelServerHost.Endpoint(_app);
        _http = new HttpClient { BaseAddress = new Uri(_endpoint.ToString().TrimEnd('/') + "/") };
        _http.DefaultRequestHeaders.Authorization = new("Bearer", Key);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
        _model.Dispose();
    }

    [Fact]
    public async Task A_model_handed_to_the_server_stays_usable_after_the_server_is_gone()
    {
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < 2; i++)
        {
            await using var app = ModelServerHost.Build("http://127.0.0.1:0", null, _model);
            await app.StartAsync(ct);
            using var http = new HttpClient { BaseAddress = new Uri(ModelServerHost.Endpoint(app) + "/") };
            using var response = await http.PostAsJsonAsync("completions", new { prompt = "Hi", max_tokens = 2, temperature = 0 }, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private OpenAIClient Client() => new(new ApiKeyCredential(Key), new OpenAIClientOptions { Endpoint = _endpoint });

    [Fact]
    public async Task Semantic_Kernel_chat_completion_gets_a_reply_with_token_usage()
    {
        var chat = new OpenAIChatCompletionService("tiny-test", Client());
        var history = new ChatHistory();
        history.AddSystemMessage("Answer briefly.");
        history.AddUserMessage("Is it fine to read a friend's diary?");
        var reply = await chat.GetChatMessageContentAsync(history, new OpenAIPromptExecutionSettings { MaxTokens = 12, Temperature = 0.7 }, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(AuthorRole.Assistant, reply.Role);
        Assert.NotNull(reply.Content);
        var usage = Assert.IsType<OpenAI.Chat.ChatTokenUsage>(reply.Metadata!["Usage"]);
        Assert.True(usage.OutputTokenCount is > 0 and <= 12);
        Assert.True(usage.InputTokenCount > 20, "the prompt's tokens, template included, are counted");
    }

    [Fact]
    public async Task Semantic_Kernel_streaming_receives_the_same_text_as_a_plain_call_with_the_same_seed()
    {
        var chat = new OpenAIChatCompletionService("tiny-test", Client());
        var history = new ChatHistory();
        history.AddUserMessage("Should I return a lost wallet?");
        var settings = new OpenAIPromptExecutionSettings { MaxTokens = 16, Temperature = 0.9, Seed = 7 };
        var whole = await chat.GetChatMessageContentAsync(history, settings, cancellationToken: TestContext.Current.CancellationToken);
        var pieces = new List<string>();
        await foreach (var chunk in chat.GetStreamingChatMessageContentsAsync(history, settings, cancellationToken: TestContext.Current.CancellationToken))
        {
            pieces.Add(chunk.Content ?? string.Empty);
        }

        Assert.True(pieces.Count(p => p.Length > 0) > 1, "the text arrives in several chunks");
        Assert.Equal(whole.Content, string.Concat(pieces));
    }

    [Fact]
    public async Task Semantic_Kernel_embeddings_are_unit_vectors_of_the_hidden_size()
    {
        var generator = Client().GetEmbeddingClient("tiny-test").AsIEmbeddingGenerator();
        var embeddings = await generator.GenerateAsync(["kindness", "cruelty"], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(2, embeddings.Count);
        foreach (var e in embeddings)
        {
            Assert.Equal(LlamaConfig.Tiny.HiddenSize, e.Vector.Length);
            Assert.InRange(Math.Sqrt(e.Vector.ToArray().Sum(x => (double)x * x)), 0.999, 1.001);
        }

        Assert.NotEqual(embeddings[0].Vector.ToArray(), embeddings[1].Vector.ToArray());
    }

    [Fact]
    public async Task Raw_responses_follow_the_OpenAI_schema()
    {
        var ct = TestContext.Current.CancellationToken;
        var models = await _http.GetFromJsonAsync<JsonObject>("models", ct);
        Assert.Equal("list", (string?)models!["object"]);
        Assert.Equal("tiny-test", (string?)models["data"]![0]!["id"]);
        Assert.Equal("model", (string?)models["data"]![0]!["object"]);

        var chat = await PostAsync("chat/completions", new { model = "tiny-test", messages = new[] { new { role = "user", content = "Hello" } }, max_tokens = 5, temperature = 0 });
        Assert.StartsWith("chatcmpl-", (string?)chat["id"], StringComparison.Ordinal);
        Assert.Equal("chat.completion", (string?)chat["object"]);
        Assert.True((long)chat["created"]! > 1_700_000_000);
        var choice = chat["choices"]![0]!;
        Assert.Equal("assistant", (string?)choice["message"]!["role"]);
        Assert.Contains((string?)choice["finish_reason"], new[] { "stop", "length" });
        var usage = chat["usage"]!;
        Assert.Equal((int)usage["prompt_tokens"]! + (int)usage["completion_tokens"]!, (int)usage["total_tokens"]!);

        var completions = await PostAsync("completions", new { model = "tiny-test", prompt = new[] { "One", "Two" }, max_tokens = 4, temperature = 0 });
        Assert.Equal("text_completion", (string?)completions["object"]);
        Assert.Equal(2, completions["choices"]!.AsArray().Count);
        Assert.Equal(1, (int)completions["choices"]![1]!["index"]!);
        Assert.Equal(8, (int)completions["usage"]!["completion_tokens"]!);

        using var response = await _http.PostAsJsonAsync("embeddings", new { model = "tiny-test", input = "x" }, ct);
        Assert.Equal("mean-last-hidden-state", response.Headers.GetValues("X-Embedding-Pooling").Single());
    }

    [Fact]
    public async Task Raw_streaming_sends_server_sent_events_ending_with_usage_and_done()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = JsonContent.Create(new { model = "tiny-test", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 6, stream = true, stream_options = new { include_usage = true } }),
        };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var lines = (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.StartsWith("data: ", l, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", lines[^1]);
        var chunks = lines[..^1].Select(l => JsonNode.Parse(l["data: ".Length..])!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Single(chunks.Select(c => (string?)c["id"]).Distinct());
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        Assert.NotNull((string?)chunks[^2]["choices"]![0]!["finish_reason"]);
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal(6, (int)chunks[^1]["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Requests_that_arrive_together_are_decoded_in_one_batch()
    {
        using var meters = new MeterWatch((name, tags) => name == "sa.queue.depth" && tags.GetValueOrDefault("model") is "tiny-test");
        var scheduler = await _app.Services.GetRequiredService<ModelRegistry>().GetAsync(null, TestContext.Current.CancellationToken);
        var before = scheduler.Batches;
        var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            PostAsync("completions", new { model = "tiny-test", prompt = $"Question {i}:", max_tokens = 8, temperature = 0 })));
        Assert.All(replies, r => Assert.Equal(8, (int)r["usage"]!["completion_tokens"]!));
        Assert.True(scheduler.Batches - before < 8, $"8 concurrent requests took {scheduler.Batches - before} batches");
        Assert.True(scheduler.LargestBatch > 1);

        // The queue-depth gauge saw the requests wait for the batch and saw them all leave.
        Assert.True(meters.Peak("sa.queue.depth") >= 2, $"queue depth peaked at {meters.Peak("sa.queue.depth")}");
        Assert.Equal(0, meters.Sum("sa.queue.depth"));
    }

    [Theory]
    [InlineData("""{"messages": []}""", "messages")]
    [InlineData("""{"messages": [{"role": "wizard", "content": "x"}]}""", "messages")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}""", "max_tokens")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "temperature": 3}""", "temperature")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "stop": [1, 2]}""", "stop")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "n": 9}""", "n")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "n": 2, "stream": true}""", "n")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}]}""", "tools")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"}""", "tool_choice")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}""", "response_format")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3}""", "top_logprobs")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 21}""", "top_logprobs")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "logprobs": true, "stream": true}""", "logprobs")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "logit_bias": {"50": 100}}""", "logit_bias")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "seed": "one"}""", "seed")]
    [InlineData("""{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", "messages")]
    [InlineData("""not json""", null)]
    [InlineData("""{"messages": [1]}""", "messages")]
    [InlineData("""{"messages": [{"role": "user", "content": [{"type": 5}]}]}""", "messages")]
    [InlineData("""{"messages": [{"role": "user", "content": [{"type": "text", "text": 7}]}]}""", "messages")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "stream_options": "x"}""", "stream_options")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "stream": "yes"}""", "stream")]
    [InlineData("""{"messages": [{"role": "user", "content": "lone \ud800 surrogate"}]}""", null)]
    public async Task Bad_requests_get_a_400_in_OpenAI_error_form_naming_the_parameter(string body, string? param)
    {
        using var response = await _http.PostAsync("chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>(TestContext.Current.CancellationToken))!["error"]!;
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.Equal(param, (string?)error["param"]);
    }

    [Fact]
    public async Task A_body_that_is_not_valid_UTF_8_gets_a_400_and_the_server_answers_the_next_request()
    {
        var ct = TestContext.Current.CancellationToken;
        byte[] bytes = [.. Encoding.UTF8.GetBytes("""{"model": "tiny-test", "messages": [{"role": "user", "content": "bad """), 0xC3, 0x28, 0xFF, .. Encoding.UTF8.GetBytes("\"}]}")];
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");
        using var response = await _http.PostAsync("chat/completions", content, ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(ct))!["error"]!["type"]);
        Assert.Single((await PostAsync("completions", new { model = "tiny-test", prompt = "Hi", max_tokens = 1 }))["choices"]!.AsArray());
    }

    [Theory]
    [InlineData("completions", """{"prompt": "x", "echo": true}""", "echo")]
    [InlineData("completions", """{"prompt": "x", "best_of": 3}""", "best_of")]
    [InlineData("completions", """{"prompt": "x", "suffix": "end"}""", "suffix")]
    [InlineData("embeddings", """{"input": "x", "dimensions": 8}""", "dimensions")]
    public async Task Parameters_the_server_does_not_implement_are_refused_by_name_never_ignored(string path, string body, string param)
    {
        using var response = await _http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>(TestContext.Current.CancellationToken))!["error"]!;
        Assert.Equal(param, (string?)error["param"]);
        Assert.Contains("not supported", (string?)error["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logprobs_give_each_generated_token_its_log_probability_and_the_most_likely_alternatives()
    {
        var chat = await PostAsync("chat/completions", new { model = "tiny-test", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 5, temperature = 0, logprobs = true, top_logprobs = 3 });
        var content = chat["choices"]![0]!["logprobs"]!["content"]!.AsArray();
        Assert.Equal((int)chat["usage"]!["completion_tokens"]!, content.Count);
        Assert.Equal((string?)chat["choices"]![0]!["message"]!["content"], string.Concat(content.Select(t => (string?)t!["token"])));
        foreach (var token in content)
        {
            var top = token!["top_logprobs"]!.AsArray();
            Assert.Equal(3, top.Count);
            Assert.True((double)token["logprob"]! <= 0);
            // Greedy decoding takes the most likely token: it heads the alternatives with the same log-probability.
            Assert.Equal((string?)token["token"], (string?)top[0]!["token"]);
            Assert.Equal((double)token["logprob"]!, (double)top[0]!["logprob"]!, 5);
            Assert.True(top.Select(t => Math.Exp((double)t!["logprob"]!)).Sum() <= 1.0001);
            Assert.Equal(System.Text.Encoding.UTF8.GetBytes((string)token["token"]!).Select(b => (int)b), token["bytes"]!.AsArray().Select(b => (int)b!));
        }

        var completion = await PostAsync("completions", new { model = "tiny-test", prompt = "Hi", max_tokens = 4, temperature = 0, logprobs = 2 });
        var legacy = completion["choices"]![0]!["logprobs"]!;
        Assert.Equal(4, legacy["tokens"]!.AsArray().Count);
        Assert.Equal(4, legacy["token_logprobs"]!.AsArray().Count);
        Assert.All(legacy["top_logprobs"]!.AsArray(), t => Assert.InRange(t!.AsObject().Count, 1, 2));
        Assert.Equal([0, 1, 2, 3], legacy["text_offset"]!.AsArray().Select(o => (int)o!)); // the byte tokenizer: one character a token here

        var plain = await PostAsync("completions", new { model = "tiny-test", prompt = "Hi", max_tokens = 2, temperature = 0 });
        Assert.Null(plain["choices"]![0]!["logprobs"]);
    }

    [Fact]
    public async Task Those_parameters_switched_off_as_clients_send_them_by_default_are_served()
    {
        var reply = await PostAsync("chat/completions", new
        {
            model = "tiny-test", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 2, temperature = 0,
            tools = Array.Empty<object>(), response_format = new { type = "text" }, logprobs = false, logit_bias = new { }, parallel_tool_calls = true,
        });
        Assert.Equal(2, (int)reply["usage"]!["completion_tokens"]!);
        var completion = await PostAsync("completions", new { model = "tiny-test", prompt = "Hi", max_tokens = 2, temperature = 0, echo = false, best_of = 1, logprobs = 0 });
        Assert.Single(completion["choices"]!.AsArray());
    }

    [Fact]
    public async Task An_unknown_model_gets_404_model_not_found_and_other_paths_under_v1_an_OpenAI_shaped_404()
    {
        var ct = TestContext.Current.CancellationToken;
        using var wrong = await _http.PostAsJsonAsync("chat/completions", new { model = "gpt-4o", messages = new[] { new { role = "user", content = "Hi" } } }, ct);
        Assert.Equal(HttpStatusCode.NotFound, wrong.StatusCode);
        var error = (await wrong.Content.ReadFromJsonAsync<JsonObject>(ct))!["error"]!;
        Assert.Equal("model_not_found", (string?)error["code"]);
        Assert.Contains("tiny-test", (string?)error["message"], StringComparison.Ordinal);

        using var responses = await _http.PostAsJsonAsync("responses", new { model = "tiny-test", input = "Hi" }, ct);
        Assert.Equal(HttpStatusCode.NotFound, responses.StatusCode);
        var unknown = (await responses.Content.ReadFromJsonAsync<JsonObject>(ct))!["error"]!;
        Assert.Equal("unknown_url", (string?)unknown["code"]);
        Assert.Equal("invalid_request_error", (string?)unknown["type"]);
        Assert.Contains("POST /v1/responses", (string?)unknown["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task N_choices_come_from_one_request_each_with_its_own_draw()
    {
        var chat = await PostAsync("chat/completions", new { model = "tiny-test", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 8, temperature = 1, n = 3, seed = 11 });
        var choices = chat["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(c => (int)c!["index"]!));
        Assert.True(choices.Select(c => (string?)c!["message"]!["content"]).Distinct().Count() > 1, "three sampled choices were identical");
        Assert.Equal(24, (int)chat["usage"]!["completion_tokens"]!);

        var completions = await PostAsync("completions", new { model = "tiny-test", prompt = new[] { "One", "Two" }, max_tokens = 2, temperature = 0, n = 2 });
        Assert.Equal([0, 1, 2, 3], completions["choices"]!.AsArray().Select(c => (int)c!["index"]!));
    }

    [Theory]
    [InlineData("Continuous", true)]
    [InlineData("PerBatch", false)]
    public async Task A_request_that_arrives_while_another_decodes_joins_the_running_batch_and_leaves_when_it_is_done(string mode, bool joins)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?> { ["ModelServer:Batching"] = mode }, _model);
        await app.StartAsync(ct);
        var scheduler = await app.Services.GetRequiredService<ModelRegistry>().GetAsync(null, ct);
        var tokenizer = _model.Tokenizer;
        var longPrompt = tokenizer.Encode("Tell me a long story about a friend who found a wallet in the street.");
        var alone = Generation.Generate(_model.Model, tokenizer, "Tell me a long story about a friend who found a wallet in the street.", new GenerationOptions(Temperature: 0, MaxNewTokens: 60));
        Assert.True(alone.Tokens > 10, $"the long answer ends after {alone.Tokens} tokens");

        // The short request is queued from the long one's first streamed text, on the worker, so it is waiting before
        // the next step: continuous batching lets it join there; per-batch mode makes it wait for the long one's end.
        // Whether the short one had its answer while the long one still streamed is seen on the worker, not by a clock.
        Task<BatchResult>? shortOne = null;
        var answeredWhileStreaming = false;
        var longOne = scheduler.GenerateAsync(new BatchRequest(longPrompt, Temperature: 0, MaxNewTokens: 60), _ =>
        {
            answeredWhileStreaming |= shortOne is { IsCompleted: true };
            shortOne ??= scheduler.GenerateAsync(new BatchRequest(tokenizer.Encode("Hi"), Temperature: 0, MaxNewTokens: 2), null, ct);
        }, ct);
        var story = await longOne;
        var reply = await shortOne!;
        Assert.Equal(joins, answeredWhileStreaming);
        Assert.Equal(alone.Text, story.Text);
        Assert.Equal(Generation.Generate(_model.Model, tokenizer, "Hi", new GenerationOptions(Temperature: 0, MaxNewTokens: 2)).Text, reply.Text);
        Assert.Equal(joins ? 2 : 1, scheduler.LargestBatch);
    }

    [Fact]
    public async Task A_request_for_more_sequences_or_tokens_than_the_limits_is_refused_before_anything_is_queued()
    {
        var scheduler = await _app.Services.GetRequiredService<ModelRegistry>().GetAsync(null, TestContext.Current.CancellationToken);
        var before = scheduler.Batches;
        using var many = await _http.PostAsJsonAsync("completions", new { model = "tiny-test", prompt = Enumerable.Repeat("x", 2000).ToArray(), max_tokens = 2048 }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, many.StatusCode);
        Assert.Contains("2000 sequences", (string?)(await many.Content.ReadFromJsonAsync<JsonObject>(TestContext.Current.CancellationToken))!["error"]!["message"], StringComparison.Ordinal);
        Assert.Equal(before, scheduler.Batches);

        // After it, a normal request is answered at once (nothing of the refused one decodes).
        Assert.Single((await PostAsync("completions", new { model = "tiny-test", prompt = "Hi", max_tokens = 2, temperature = 0 }))["choices"]!.AsArray());
        Assert.Equal(before + 1, scheduler.Batches);
    }

    [Fact]
    public async Task A_request_that_does_not_fit_the_queue_queues_none_of_its_parts_and_the_next_request_is_answered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?> { ["ModelServer:MaxQueue"] = "3" }, _model);
        await app.StartAsync(ct);
        using var http = new HttpClient { BaseAddress = new Uri(ModelServerHost.Endpoint(app) + "/") };
        var scheduler = await app.Services.GetRequiredService<ModelRegistry>().GetAsync(null, ct);

        using var full = await http.PostAsJsonAsync("completions", new { prompt = Enumerable.Repeat("x", 8).ToArray(), max_tokens = 64 }, ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
        using var next = await http.PostAsJsonAsync("completions", new { prompt = "Hi", max_tokens = 3, temperature = 0 }, ct);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var usage = (await next.Content.ReadFromJsonAsync<JsonObject>(ct))!["usage"]!;
        Assert.Equal(3, (int)usage["completion_tokens"]!);
        Assert.Equal(1, scheduler.LargestBatch); // the refused request's queued prompts never joined a batch
        Assert.Equal(1, scheduler.Batches);
    }

    [Fact]
    public async Task Without_a_seed_repeated_sampled_calls_differ_and_with_one_they_repeat()
    {
        async Task<string?> Text(int? seed) => (string?)(await PostAsync("completions",
            seed is null ? new { model = "tiny-test", prompt = "Tell me", max_tokens = 12, temperature = 1.0 } : (object)new { model = "tiny-test", prompt = "Tell me", max_tokens = 12, temperature = 1.0, seed }))["choices"]![0]!["text"];

        Assert.NotEqual(await Text(null), await Text(null));
        Assert.Equal(await Text(5), await Text(5));
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_refused_with_both_lengths_unless_truncation_is_asked_for()
    {
        var ct = TestContext.Current.CancellationToken;
        var prompt = new string('a', LlamaConfig.Tiny.MaxPositions + 10);
        using var refused = await _http.PostAsJsonAsync("completions", new { model = "tiny-test", prompt, max_tokens = 2 }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = (await refused.Content.ReadFromJsonAsync<JsonObject>(ct))!["error"]!;
        Assert.Equal("prompt", (string?)error["param"]);
        Assert.Contains($"{prompt.Length} tokens", (string?)error["message"], StringComparison.Ordinal);
        Assert.Contains($"context is {LlamaConfig.Tiny.MaxPositions} tokens", (string?)error["message"], StringComparison.Ordinal);

        var cut = await PostAsync("completions", new { model = "tiny-test", prompt, max_tokens = 2, temperature = 0, truncate_prompt_tokens = 100 });
        Assert.Equal(100 + new ByteTokenizer().Start.Count(), (int)cut["usage"]!["prompt_tokens"]!); // the kept tokens and the start token
    }

    [Fact]
    public async Task Without_the_key_a_request_is_refused()
    {
        using var anonymous = new HttpClient { BaseAddress = _http.BaseAddress };
        using var response = await anonymous.GetAsync("models", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(TestContext.Current.CancellationToken))!["error"]!["code"]);
    }

    private async Task<JsonObject> PostAsync(string path, object body)
    {
        using var response = await _http.PostAsJsonAsync(path, body, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}

/// <summary><c>sa serve-model</c> as a user starts it: a trained checkpoint folder, a port, then an OpenAI client.</summary>
public sealed class ServeModelCommandTests
{
    [Fact]
    public async Task Sa_serve_model_serves_a_trained_checkpoint_with_its_recorded_template_until_stopped()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = TestConfiguration.TempPath("serve-model");
        await new ModelTrainer(new TrainOptions { Base = "tiny", Epochs = 1, MaxSteps = 2, Accumulation = 1, MaxLength = 128, CheckpointEvery = 100, PromptTemplate = ServedModel.AlpacaTemplate },
            new ByteTokenizer()).RunAsync([new RatedGroup(ServedModel.AlpacaTemplate.Replace("{question}", "Is honesty good?", StringComparison.Ordinal), ["Yes.", "No."], [7, 1])], folder, "ds-test", ct: ct);
        var port = ServiceProcess.FreePort();
        using var process = System.Diagnostics.Process.Start(SaProcess.StartInfo(folder, ["serve-model", "--checkpoint", folder, "--urls", $"http://127.0.0.1:{port}", "--name", "mine"]))!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/v1/") };
            var models = await Eventually.ReturnsAsync(async () =>
            {
                try
                {
                    return await http.GetStringAsync("models", ct);
                }
                catch (HttpRequestException)
                {
                    return string.Empty;
                }
            }, s => s.Length > 0, TimeSpan.FromSeconds(60));
            Assert.Equal("mine", (string?)JsonNode.Parse(models)!["data"]![0]!["id"]);
            var chat = new OpenAIChatCompletionService("mine", new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = http.BaseAddress }));
            var history = new ChatHistory();
            history.AddUserMessage("Is honesty good?");
            var reply = await chat.GetChatMessageContentAsync(history, new OpenAIPromptExecutionSettings { MaxTokens = 4 }, cancellationToken: ct);
            var usage = Assert.IsType<OpenAI.Chat.ChatTokenUsage>(reply.Metadata!["Usage"]);
            // The recorded Alpaca template wraps the question: "### Instruction:\n" + 16 bytes + "\n\n### Response:", plus the start token.
            Assert.Equal(1 + ServedModel.AlpacaTemplate.Replace("{question}", "Is honesty good?", StringComparison.Ordinal).Length, usage.InputTokenCount);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(ct);
        }
    }
}

/// <summary>The model-server's by-name mode: names resolve under its roots only, are loaded on first use, and a bad name is a 404.</summary>
public sealed class ModelServerByNameTests
{
    [Fact]
    public async Task Models_load_by_name_from_the_roots_and_names_that_leave_them_are_not_found()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = TestConfiguration.TempPath("model-roots");
        var models = Path.Combine(root, "models");
        await new ModelTrainer(new TrainOptions { Base = "tiny", Epochs = 1, MaxSteps = 1, Accumulation = 1, MaxLength = 64, CheckpointEvery = 100 }, new ByteTokenizer())
            .RunAsync([new RatedGroup("Q", ["a", "b"], [7, 1])], Path.Combine(models, "agent"), "ds", ct: ct);
        await using var app = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?>
        {
            ["ModelServer:ModelsRoot"] = models, ["ModelServer:CheckpointsRoot"] = Path.Combine(root, "jobs"),
        });
        await app.StartAsync(ct);
        using var http = new HttpClient { BaseAddress = new Uri(ModelServerHost.Endpoint(app) + "/") };
        async Task<(HttpStatusCode Status, JsonObject Body)> Complete(string model)
        {
            using var response = await http.PostAsJsonAsync("completions", new { model, prompt = "Hi", max_tokens = 2 }, ct);
            return (response.StatusCode, (await response.Content.ReadFromJsonAsync<JsonObject>(ct))!);
        }

        Assert.Empty((await http.GetFromJsonAsync<JsonObject>("models", ct))!["data"]!.AsArray());
        var (status, body) = await Complete("agent");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("agent", (string?)body["model"]);
        Assert.Equal("agent", (string?)(await http.GetFromJsonAsync<JsonObject>("models", ct))!["data"]![0]!["id"]);
        foreach (var name in new[] { "missing", "../models/agent", "/etc", "checkpoints/../../models/agent", "checkpoints/job-none" })
        {
            (status, body) = await Complete(name);
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Equal("model_not_found", (string?)body["error"]!["code"]);
        }

        using var tooMany = await http.PostAsJsonAsync("embeddings", new { model = "agent", input = Enumerable.Repeat("x", OpenAiApi.MaxEmbeddingInputs + 1).ToArray() }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        using var empty = await http.PostAsJsonAsync("embeddings", new { model = "agent", input = Array.Empty<string>() }, ct);
        Assert.Equal("input", (string?)(await empty.Content.ReadFromJsonAsync<JsonObject>(ct))!["error"]!["param"]);
    }

    [Fact]
    public async Task A_model_in_use_is_unloaded_only_after_its_last_request_even_when_another_model_pushes_it_out()
    {
        var ct = TestContext.Current.CancellationToken;
        var models = Path.Combine(TestConfiguration.TempPath("model-leases"), "models");
        foreach (var name in new[] { "first", "second" })
        {
            await new ModelTrainer(new TrainOptions { Base = "tiny", Epochs = 1, MaxSteps = 1, Accumulation = 1, MaxLength = 64, CheckpointEvery = 100 }, new ByteTokenizer())
                .RunAsync([new RatedGroup("Q", ["a", "b"], [7, 1])], Path.Combine(models, name), "ds", ct: ct);
        }

        await using var app = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?> { ["ModelServer:ModelsRoot"] = models, ["ModelServer:MaxLoadedModels"] = "1" });
        await app.StartAsync(ct);
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        var prompt = new ByteTokenizer().Encode("Hi");

        using (var first = await registry.LeaseAsync("first", ct))
        {
            // Loading the second model makes the first the one to unload: it stays, because a request still uses it.
            using (var second = await registry.LeaseAsync("second", ct))
            {
                Assert.Equal(["second"], registry.Loaded.Select(m => m.Id));
                Assert.Equal(4, (await first.Scheduler.GenerateAsync(new BatchRequest(prompt, Temperature: 0, MaxNewTokens: 4), null, ct)).CompletionTokens);
                Assert.Equal(4, (await second.Scheduler.GenerateAsync(new BatchRequest(prompt, Temperature: 0, MaxNewTokens: 4), null, ct)).CompletionTokens);
            }
        }

        // A new request for the first model loads it again (and, with one slot, pushes out the second, now unused).
        using var again = await registry.LeaseAsync("first", ct);
        Assert.Equal(2, (await again.Scheduler.GenerateAsync(new BatchRequest(prompt, Temperature: 0, MaxNewTokens: 2), null, ct)).CompletionTokens);
        Assert.Equal(["first"], registry.Loaded.Select(m => m.Id));
    }
}
