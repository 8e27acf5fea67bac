using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableAlignment.Learning;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c>, run by Hugging Face's own tokenizers library (the Rust crate through
/// Tokenizers.DotNet), so every part of the file is honoured exactly as in Python: normalizer, pre-tokenizer, model
/// (BPE with byte fallback, WordPiece, Unigram), added and special tokens, post-processor and decoder. This file reads
/// what the library does not expose: the vocabulary (for token texts), the special tokens and the post-processor's
/// template (to know which ids open and close a sequence).
/// </summary>
public sealed class HuggingFaceTokenizer : ITokenizer
{
    private readonly Tokenizers.DotNet.Tokenizer _native;
    private readonly string _folder;
    private readonly Dictionary<int, string> _tokens = [];
    private readonly int[] _suffix;

    public HuggingFaceTokenizer(string folder)
    {
        _folder = folder;
        var path = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{folder} has no tokenizer.json.", path);
        }

        JsonNode json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} is empty.");
            _native = new Tokenizers.DotNet.Tokenizer(path);
        }
        catch (Exception e) when (e is JsonException or Tokenizers.DotNet.TokenizerException)
        {
            throw new InvalidDataException($"{path}: not a tokenizer file the tokenizers library can read ({e.Message}).", e);
        }

        ReadVocabulary(json["model"], path);
        foreach (var added in json["added_tokens"]?.AsArray() ?? [])
        {
            _tokens[added!["id"]!.GetValue<int>()] = added["content"]!.GetValue<string>();
        }

        var ids = _tokens.GroupBy(t => t.Value).ToDictionary(g => g.Key, g => g.Max(t => t.Key));
        VocabularySize = _tokens.Count == 0 ? 0 : _tokens.Keys.Max() + 1;
        var (prefix, suffix) = Template(json["post_processor"], ids);
        Start = prefix;
        _suffix = suffix;

        var settings = Settings(folder);
        int? Named(string key, params string[] fallbacks) =>
            settings.TryGetValue(key, out var name) ? (name is not null && ids.TryGetValue(name, out var id) ? id : null)
            : fallbacks.Where(ids.ContainsKey).Select(n => (int?)ids[n]).FirstOrDefault();
        BosId = Named("bos_token", "<s>", "<|begin_of_text|>") ?? (Start.Count > 0 ? Start[0] : null);
        EosId = Named("eos_token", "</s>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>")
            ?? throw new InvalidDataException($"{path}: no end-of-sequence token (set eos_token in tokenizer_config.json).");
        PadId = Named("pad_token", "<pad>", "<|pad|>") ?? EosId;
    }

    public int VocabularySize { get; }

    public int? BosId { get; }

    public int EosId { get; }

    public int PadId { get; }

    public IReadOnlyList<int> Start { get; }

    public int[] Encode(string text)
    {
        var ids = Array.ConvertAll(_native.Encode(text), id => (int)id);
        var from = StartsWith(ids, Start) ? Start.Count : 0;
        var to = ids.Length - from >= _suffix.Length && ids.AsSpan(ids.Length - _suffix.Length).SequenceEqual(_suffix) ? ids.Length - _suffix.Length : ids.Length;
        return ids[from..to];
    }

    public string Decode(IEnumerable<int> tokens) => _native.Decode([.. tokens.Where(t => t >= 0 && t < VocabularySize).Select(t => (uint)t)]);

    public string TokenText(int id) => _tokens.TryGetValue(id, out var text) ? text : throw new ArgumentOutOfRangeException(nameof(id), $"Token id {id} is not in the vocabulary.");

    public void WriteTo(string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
        {
            var source = Path.Combine(_folder, name);
            var target = Path.Combine(folder, name);
            if (File.Exists(source) && Path.GetFullPath(source) != Path.GetFullPath(target))
            {
                File.Copy(source, target, overwrite: true);
            }
        }

        if (!File.Exists(Path.Combine(folder, "tokenizer_config.json")))
        {
            var config = HuggingFace.TokenizerConfig(BosId is { } b ? TokenText(b) : null, TokenText(EosId), TokenText(PadId));
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString(HuggingFace.Indented));
        }
    }

    private static bool StartsWith(int[] ids, IReadOnlyList<int> prefix) => ids.Length >= prefix.Count && prefix.Select((p, i) => ids[i] == p).All(x => x);

    private void ReadVocabulary(JsonNode? model, string path)
    {
        switch (model?["vocab"])
        {
            case JsonObject map:
                foreach (var (token, id) in map)
                {
                    _tokens[id!.GetValue<int>()] = token;
                }

                break;
            case JsonArray pieces:
                // Unigram: [piece, score] pairs, the id being the position.
                for (var i = 0; i < pieces.Count; i++)
                {
                    _tokens[i] = pieces[i]![0]!.GetValue<string>();
                }

                break;
            default:
                throw new InvalidDataException($"{path}: the model has no vocabulary.");
        }
    }

    /// <summary>The special tokens the post-processor puts before and after a single sequence.</summary>
    private static (int[] Prefix, int[] Suffix) Template(JsonNode? processor, Dictionary<string, int> ids)
    {
        int[] Id(JsonNode? pair) => pair is JsonArray a ? [a[1]!.GetValue<int>()] : [];
        switch (processor?["type"]?.GetValue<string>())
        {
            case "TemplateProcessing":
                var special = processor["special_tokens"]?.AsObject();
                int[] Ids(string name) => special?[name]?["ids"] is JsonArray list ? [.. list.Select(i => i!.GetValue<int>())]
                    : ids.TryGetValue(name, out var id) ? [id] : [];
                var single = processor["single"]!.AsArray();
                var at = single.Select((item, i) => (item, i)).First(p => p.item!["Sequence"] is not null).i;
                int[] Collect(IEnumerable<JsonNode?> items) => [.. items.SelectMany(item => item!["SpecialToken"] is { } s ? Ids(s["id"]!.GetValue<string>()) : [])];
                return (Collect(single.Take(at)), Collect(single.Skip(at + 1)));
            case "BertProcessing" or "RobertaProcessing":
                return (Id(processor["cls"]), Id(processor["sep"]));
            case "Sequence":
                var parts = processor["processors"]!.AsArray().Select(p => Template(p, ids)).ToList();
                return ([.. parts.SelectMany(p => p.Prefix)], [.. parts.SelectMany(p => p.Suffix)]);
            default:
                return ([], []);
        }
    }

    /// <summary>bos/eos/pad token names from tokenizer_config.json (a string, an object with content, or null).</summary>
    private static Dictionary<string, string?> Settings(string folder)
    {
        var path = Path.Combine(folder, "tokenizer_config.json");
        var result = new Dictionary<string, string?>();
        if (!File.Exists(path))
        {
            return result;
        }

        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? [];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: not a JSON object ({e.Message}).", e);
        }

        foreach (var key in new[] { "bos_token", "eos_token", "pad_token" })
        {
            if (json.TryGetPropertyValue(key, out var value))
            {
                result[key] = value switch
                {
                    JsonValue v => v.GetValue<string>(),
                    JsonObject o => o["content"]?.GetValue<string>(),
                    _ => null,
                };
            }
        }

        return result;
    }
}
