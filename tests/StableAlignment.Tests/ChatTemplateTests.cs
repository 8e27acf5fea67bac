using System.Diagnostics;
using StableAlignment.Learning.Jinja;

namespace StableAlignment.Tests;

/// <summary>
/// Real chat templates (tests/data/chat-templates: Llama 3, Qwen2.5, Mistral, SmolLM2, Gemma 2, Phi-3) rendered here
/// and by @huggingface/jinja, the renderer transformers.js uses (tests/node-oracles, installed by make test): the same
/// text for every conversation, or a refusal from both. (Printing a boolean is the one place the two renderers of the
/// world differ: Python's Jinja, which transformers and vLLM use, writes True, and @huggingface/jinja true; this one
/// follows Python. No template here prints one.)
/// </summary>
public sealed class ChatTemplateTests
{
    private static readonly Dictionary<string, object?>[][] Conversations =
    [
        [Message("user", "Is it fine to lie to a friend?")],
        [Message("system", "You are a careful, kind assistant."), Message("user", "Is it fine to lie to a friend?")],
        [Message("user", "Hi"), Message("assistant", "Hello! How can I help?"), Message("user", "  Tell me about honesty.\n")],
        [Message("system", "Answer briefly."), Message("user", "Hi"), Message("assistant", "Hello."), Message("user", "Why be kind?")],
        [Message("user", "Ünïcödé ✓ — “quotes”, 'single', \"double\", {{ braces }} and\ttabs\n\nnew lines  ")],
        [Message("assistant", "I speak first."), Message("user", "Then I answer.")],
    ];

    private static Dictionary<string, object?> Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    public static List<(string Family, string Template, Dictionary<string, object?> Variables)> Cases()
    {
        var file = JsonNode.Parse(File.ReadAllText(RepositoryRoot.Combine("tests", "data", "chat-templates", "templates.json")))!;
        var cases = new List<(string, string, Dictionary<string, object?>)>();
        foreach (var t in file["templates"]!.AsArray())
        {
            foreach (var conversation in Conversations)
            {
                foreach (var generation in new[] { true, false })
                {
                    cases.Add(((string)t!["family"]!, (string)t["template"]!, new Dictionary<string, object?>
                    {
                        ["messages"] = conversation, ["add_generation_prompt"] = generation,
                        ["bos_token"] = (string?)t["bos_token"], ["eos_token"] = (string?)t["eos_token"],
                    }));
                }
            }
        }

        return cases;
    }

    [Fact]
    public async Task Six_families_render_exactly_as_huggingface_jinja_renders_them()
    {
        var cases = Cases();
        var reference = await ReferenceAsync(cases.Select(c => (c.Template, c.Variables)));
        var mismatches = new List<string>();
        for (var i = 0; i < cases.Count; i++)
        {
            var (family, template, variables) = cases[i];
            string? ours;
            string? error = null;
            try
            {
                ours = JinjaTemplate.Parse(template).Render(variables);
            }
            catch (ChatTemplateException e)
            {
                ours = null;
                error = e.Message;
            }

            var expected = reference[i];
            var label = $"{family}, conversation {i / 2 % Conversations.Length}, add_generation_prompt {variables["add_generation_prompt"]}";
            if (expected["error"] is { } refused)
            {
                if (ours is not null)
                {
                    mismatches.Add($"{label}: @huggingface/jinja refused ({refused}), this renderer gave {JsonSerializer.Serialize(ours)}");
                }
                else if (!((string)refused!).Contains(error!, StringComparison.Ordinal))
                {
                    mismatches.Add($"{label}: refused for another reason: '{refused}' and '{error}'");
                }
            }
            else if ((string?)expected["text"] != ours)
            {
                mismatches.Add($"{label}:\n  expected {JsonSerializer.Serialize((string?)expected["text"])}\n  got      {(ours is null ? $"an error: {error}" : JsonSerializer.Serialize(ours))}");
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {cases.Count} renderings differ:\n{string.Join("\n", mismatches)}");
        Assert.Equal(72, cases.Count);
        Assert.True(reference.Count(r => r["error"] is not null) is > 0 and < 20, "the refusals (system messages for Mistral and Gemma, a leading assistant turn) should be a few");
    }

    [Theory]
    [InlineData("{%- set ns = namespace(found=false) %}{%- for m in messages %}{%- if m.role == 'system' %}{%- set ns.found = true %}{%- endif %}{%- endfor %}{% if ns.found %}found{% endif %}")]
    [InlineData("{% for m in messages %}{{ loop.index }}/{{ loop.length }}{% if not loop.last %}, {% endif %}{% endfor %}")]
    [InlineData("{{ messages[1:] | length }} {{ messages[-1]['content'][:5] }} {{ messages[0].content[::-1] }}")]
    [InlineData("{% for m in messages if m.role != 'system' %}{{ m.role | upper }}{% else %}none{% endfor %}")]
    [InlineData("{% if tools is defined %}tools{% endif %}{% if messages[0].tool_calls is not defined %}no calls{% endif %} {{ missing | default('fallback') }}")]
    [InlineData("{{ {'a': 1, 'b': [true, none, 'x\\ny']} | tojson }}|{{ messages[0] | tojson }}")]
    [InlineData("{% macro turn(role, text='') %}<{{ role }}>{{ text | trim }}</{{ role }}>{% endmacro %}{% for m in messages %}{{ turn(m.role, m.content) }}{% endfor %}")]
    [InlineData("{% if messages | length > 3 %}long{% elif messages | length > 1 %}some{% else %}one{% endif %} {{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 3 }} {{ 'ab' ~ 3 }}")]
    [InlineData("{{ messages[0].content.split(' ')[1] }} {{ ' x '.strip() }} {% if 'Hi'.startswith('H') %}H{% endif %} {{ 'a-b'.replace('-', '+') }} {{ ['a', 'b'] | join(', ') }}")]
    [InlineData("{%- for m in messages -%}\n  {{- m.role -}}\n{%- endfor %}\n  {# a comment #}\n{% if true %}\n  yes\n{% endif %}\n")]
    [InlineData("{% set x = 'outer' %}{% for m in messages %}{% set x = m.role %}{% endfor %}{{ x }}")]
    [InlineData("{{ messages | map(attribute='role') | join(',') }} {{ messages | selectattr('role', 'equalto', 'user') | list | length }}")]
    public async Task Features_chat_templates_use_render_as_huggingface_jinja_renders_them(string template)
    {
        var variables = new Dictionary<string, object?> { ["messages"] = Conversations[3], ["add_generation_prompt"] = true };
        var expected = (await ReferenceAsync([(template, variables)]))[0];
        Assert.Null(expected["error"]);
        Assert.Equal((string?)expected["text"], JinjaTemplate.Parse(template).Render(variables));
    }

    [Fact]
    public async Task The_exported_chat_template_renders_what_sa_serve_model_sends_for_the_same_conversation()
    {
        using var served = StableAlignment.ModelServer.ServedModel.From("export-check", new LlamaForCausalLM(LlamaConfig.Tiny, seed: 1), new ByteTokenizer(), StableAlignment.ModelServer.ServedModel.AlpacaTemplate);
        var conversations = Conversations.Append([Message("system", "Be kind."), Message("system", "Be brief."), Message("user", "Hi")]).ToList();
        var cases = conversations.Select(c => (HuggingFace.AlpacaChatTemplate, new Dictionary<string, object?>
        {
            ["messages"] = c, ["add_generation_prompt"] = true, ["bos_token"] = "<s>", ["eos_token"] = "</s>",
        })).ToList();
        var reference = await ReferenceAsync(cases);
        for (var i = 0; i < conversations.Count; i++)
        {
            var sent = served.ChatPrompt([.. conversations[i].Select(m => ((string)m["role"]!, (string)m["content"]!))]);
            Assert.Equal(sent, (string?)reference[i]["text"]);
            Assert.Equal(sent, JinjaTemplate.Parse(HuggingFace.AlpacaChatTemplate).Render(cases[i].Item2));
        }

        // With the answer after the last user message (a training example), the answer and the end token follow the prompt.
        var answered = new Dictionary<string, object?> { ["messages"] = new[] { Message("user", "Hi"), Message("assistant", "Hello.") }, ["eos_token"] = "</s>" };
        Assert.Equal("### Instruction:\nHi\n\n### Response:Hello.</s>", JinjaTemplate.Parse(HuggingFace.AlpacaChatTemplate).Render(answered));
        Assert.Equal("### Instruction:\nHi\n\n### Response:Hello.</s>", (string?)(await ReferenceAsync([(HuggingFace.AlpacaChatTemplate, answered)]))[0]["text"]);
    }

    [Fact]
    public async Task A_hugging_face_folder_is_served_with_its_own_chat_template_and_a_conversation_it_refuses_is_a_400()
    {
        var ct = TestContext.Current.CancellationToken;
        var templates = JsonNode.Parse(File.ReadAllText(RepositoryRoot.Combine("tests", "data", "chat-templates", "templates.json")))!["templates"]!.AsArray();
        string Of(string family) => (string)templates.Single(t => (string)t!["family"]! == family)!["template"]!;
        var folder = Golden.ModelWithByteTokenizer("hf-tiny-llama");
        var configPath = Path.Combine(folder, "tokenizer_config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["chat_template"] = Of("gemma");
        File.WriteAllText(configPath, config.ToJsonString());

        using var served = StableAlignment.ModelServer.ServedModel.Load(folder);
        Assert.Equal(Of("gemma"), served.JinjaSource);
        var messages = new[] { Message("user", "Is honesty good?") };
        var expected = (string)(await ReferenceAsync([(Of("gemma"), new Dictionary<string, object?>
        {
            ["messages"] = messages, ["add_generation_prompt"] = true, ["bos_token"] = "<s>", ["eos_token"] = "</s>",
        })]))[0]["text"]!;
        // The byte tokenizer adds <s> itself, so the <s> the template writes first is not sent twice.
        Assert.StartsWith("<s><start_of_turn>user", expected, StringComparison.Ordinal);
        Assert.Equal(expected["<s>".Length..], served.ChatPrompt([("user", "Is honesty good?")]));

        await using var app = StableAlignment.ModelServer.ModelServerHost.Build("http://127.0.0.1:0", null, served);
        await app.StartAsync(ct);
        using var http = new HttpClient { BaseAddress = new Uri(StableAlignment.ModelServer.ModelServerHost.Endpoint(app) + "/") };
        using var ok = await http.PostAsJsonAsync("chat/completions", new { messages, max_tokens = 2, temperature = 0 }, ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var usage = (await ok.Content.ReadFromJsonAsync<JsonObject>(ct))!["usage"]!;
        Assert.Equal(new ByteTokenizer().Start.Count + new ByteTokenizer().Encode(expected["<s>".Length..]).Length, (int)usage["prompt_tokens"]!);

        using var refused = await http.PostAsJsonAsync("chat/completions", new { messages = new[] { Message("system", "Be kind."), Message("user", "Hi") }, max_tokens = 2 }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = (await refused.Content.ReadFromJsonAsync<JsonObject>(ct))!["error"]!;
        Assert.Equal("messages", (string?)error["param"]);
        Assert.Contains("System role not supported", (string?)error["message"], StringComparison.Ordinal);
    }

    /// <summary>The renderings of @huggingface/jinja, one per case: {"text"} or {"error"}.</summary>
    public static async Task<List<JsonNode>> ReferenceAsync(IEnumerable<(string Template, Dictionary<string, object?> Variables)> cases)
    {
        var folder = RepositoryRoot.Combine("tests", "node-oracles");
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "@huggingface", "jinja")),
            $"@huggingface/jinja is not installed: run `npm ci` in {folder} (make test does)");
        using var node = Process.Start(new ProcessStartInfo("node", [Path.Combine(folder, "render-chat-templates.mjs")])
        {
            WorkingDirectory = folder, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        var ct = TestContext.Current.CancellationToken;
        await node.StandardInput.WriteAsync(JsonSerializer.Serialize(new { cases = cases.Select(c => new { template = c.Template, variables = c.Variables }) }));
        node.StandardInput.Close();
        var stdout = node.StandardOutput.ReadToEndAsync(ct);
        var stderr = node.StandardError.ReadToEndAsync(ct);
        await node.WaitForExitAsync(ct);
        Assert.True(node.ExitCode == 0, await stderr);
        return [.. JsonNode.Parse(await stdout)!.AsArray().Select(n => n!)];
    }
}
