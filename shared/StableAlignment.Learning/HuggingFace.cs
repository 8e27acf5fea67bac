using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using TorchSharp.PyBridge;

namespace StableAlignment.Learning;

/// <summary>
/// Hugging Face LLaMA-architecture folders (<c>config.json</c>, <c>model.safetensors</c>, <c>tokenizer.json</c>):
/// TinyLlama, SmolLM and other LLaMA-layout checkpoints load by parameter name into <see cref="LlamaForCausalLM"/>,
/// with their BPE tokenizer. Nothing is downloaded: the folder must be on disk.
/// </summary>
public static class HuggingFace
{
    public static bool IsFolder(string path) =>
        File.Exists(Path.Combine(path, "config.json")) && File.Exists(Path.Combine(path, "model.safetensors"));

    public static LlamaConfig ReadConfig(string folder)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        var type = json["model_type"]?.GetValue<string>() ?? "llama";
        if (type is not ("llama" or "mistral"))
        {
            throw new NotSupportedException($"{folder}: model_type '{type}' is not a LLaMA-architecture model (llama, mistral).");
        }

        return JsonSerializer.Deserialize<LlamaConfig>(json.ToJsonString())!;
    }

    public static LlamaForCausalLM Load(string folder)
    {
        var config = ReadConfig(folder);
        var model = new LlamaForCausalLM(config);
        var loaded = new Dictionary<string, bool>();
        model.load_safetensors(Path.Combine(folder, "model.safetensors"), strict: false, loadedParameters: loaded);
        var missing = model.state_dict().Keys
            .Where(k => !(loaded.TryGetValue(k, out var ok) && ok) && !(config.TieEmbeddings && k == "lm_head.weight"))
            .ToList();
        return missing.Count == 0
            ? model
            : throw new InvalidDataException($"{folder}/model.safetensors lacks {missing.Count} parameters, e.g. {string.Join(", ", missing.Take(3))}.");
    }

    /// <summary>Writes a model in the Hugging Face layout (config.json and model.safetensors).</summary>
    public static void Save(LlamaForCausalLM model, string folder)
    {
        Directory.CreateDirectory(folder);
        var config = JsonSerializer.SerializeToNode(model.Config)!.AsObject();
        config["model_type"] = "llama";
        config["architectures"] = new JsonArray("LlamaForCausalLM");
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        model.save_safetensors(Path.Combine(folder, "model.safetensors"));
    }
}

/// <summary>A BPE <c>tokenizer.json</c> (vocabulary and merges) through Microsoft.ML.Tokenizers, with its special tokens.</summary>
public sealed class HuggingFaceTokenizer : ITokenizer
{
    private readonly BpeTokenizer _bpe;

    public HuggingFaceTokenizer(string folder)
    {
        var path = Path.Combine(folder, "tokenizer.json");
        var json = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} is empty.");
        var model = json["model"] ?? throw new InvalidDataException($"{path}: no \"model\".");
        if (model["type"]?.GetValue<string>() != "BPE")
        {
            throw new NotSupportedException($"{path}: only BPE tokenizers are supported.");
        }

        var vocab = model["vocab"]!.AsObject();
        var merges = model["merges"]!.AsArray().Select(m => m is JsonArray pair ? $"{pair[0]} {pair[1]}" : m!.GetValue<string>()).ToList();
        using var vocabStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(vocab.ToJsonString()));
        using var mergesStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes("#version: 0.2\n" + string.Join('\n', merges)));
        _bpe = BpeTokenizer.Create(vocabStream, mergesStream);
        var added = json["added_tokens"]?.AsArray().ToDictionary(t => t!["content"]!.GetValue<string>(), t => t!["id"]!.GetValue<int>()) ?? [];
        int Special(params string[] names) => names.Select(n => added.TryGetValue(n, out var id) ? id : vocab[n]?.GetValue<int>() ?? -1).FirstOrDefault(id => id >= 0, -1);
        BosId = Special("<s>", "<|begin_of_text|>", "<|endoftext|>", "<|im_start|>");
        EosId = Special("</s>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>");
        PadId = Special("<pad>", "<unk>", "</s>", "<|endoftext|>");
        VocabularySize = Math.Max(vocab.Count, added.Count == 0 ? 0 : added.Values.Max() + 1);
        if (BosId < 0 || EosId < 0)
        {
            throw new InvalidDataException($"{path}: no beginning or end token found.");
        }
    }

    public int VocabularySize { get; }

    public int BosId { get; }

    public int EosId { get; }

    public int PadId { get; }

    public int[] Encode(string text) => [.. _bpe.EncodeToIds(text)];

    public string Decode(IEnumerable<int> tokens) => _bpe.Decode(tokens.Where(t => t != BosId && t != EosId && t != PadId)) ?? string.Empty;
}
