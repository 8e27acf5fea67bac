using System.Text.Json.Nodes;
using StableAlignment.Learning;
using StableAlignment.Learning.Jinja;

namespace StableAlignment.ModelServer;

/// <summary>
/// A model folder's own chat template: <c>chat_template.jinja</c>, or <c>chat_template</c> in tokenizer_config.json
/// (a string, or the list of named templates where the one named "default" is used), rendered as transformers'
/// <c>apply_chat_template(messages, add_generation_prompt=True)</c> renders it, with the folder's bos and eos tokens.
/// </summary>
public sealed class FolderChatTemplate
{
    private readonly JinjaTemplate _template;
    private readonly string? _bos;
    private readonly string? _eos;

    private FolderChatTemplate(string source, string? bos, string? eos)
    {
        Source = source;
        _template = JinjaTemplate.Parse(source);
        (_bos, _eos) = (bos, eos);
    }

    public string Source { get; }

    /// <summary>The folder's template, or null when it has none; a template that cannot be read is an error naming the folder.</summary>
    public static FolderChatTemplate? Read(string folder)
    {
        var configPath = Path.Combine(folder, "tokenizer_config.json");
        JsonObject? config;
        try
        {
            config = File.Exists(configPath) ? JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject : null;
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{configPath}: not valid JSON ({e.Message}).", e);
        }

        var jinjaFile = Path.Combine(folder, "chat_template.jinja");
        var source = File.Exists(jinjaFile) ? File.ReadAllText(jinjaFile) : config?["chat_template"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var text) => text,
            JsonArray named => named.OfType<JsonObject>().FirstOrDefault(t => t["name"] is JsonValue n && n.TryGetValue<string>(out var name) && name == "default")?["template"] is JsonValue t
                && t.TryGetValue<string>(out var text) ? text : null,
            _ => null,
        };
        if (string.IsNullOrWhiteSpace(source))
        {
            return null;
        }

        try
        {
            return new FolderChatTemplate(source, Token(config?["bos_token"]), Token(config?["eos_token"]));
        }
        catch (ChatTemplateException e)
        {
            throw new InvalidDataException($"{folder}: its chat_template cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// The prompt of a conversation. When the tokenizer adds its own start token, a start token the template wrote first
    /// is taken off, so the model does not read it twice (transformers tokenizes the rendering without adding one).
    /// A conversation the template refuses (its raise_exception) is an <see cref="ArgumentException"/> with its reason.
    /// </summary>
    public string Render(IReadOnlyList<(string Role, string Content)> messages, ITokenizer tokenizer)
    {
        string text;
        try
        {
            text = _template.Render(new Dictionary<string, object?>
            {
                ["messages"] = messages.Select(m => new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList(),
                ["add_generation_prompt"] = true,
                ["bos_token"] = _bos,
                ["eos_token"] = _eos,
            });
        }
        catch (ChatTemplateException e)
        {
            throw new ArgumentException($"The model's chat template refuses this conversation: {e.Message}", e);
        }

        return _bos is { Length: > 0 } bos && tokenizer.Start.Count > 0 && text.StartsWith(bos, StringComparison.Ordinal) ? text[bos.Length..] : text;
    }

    private static string? Token(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => (string?)o["content"],
        _ => null,
    };
}
