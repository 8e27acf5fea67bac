using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>
/// Hugging Face model folders (<c>config.json</c>, <c>model.safetensors</c> or sharded safetensors with their index,
/// <c>tokenizer.json</c>): LLaMA, Mistral and Qwen2 layouts load by parameter name into <see cref="LlamaForCausalLM"/>
/// and are written back in the same layout, so a model trained here opens in transformers, vLLM or Ollama. Nothing
/// is downloaded: the folder must be on disk.
/// </summary>
public static class HuggingFace
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static readonly Dictionary<string, ModelArchitecture> Architectures = new()
    {
        ["llama"] = ModelArchitecture.Llama, ["mistral"] = ModelArchitecture.Mistral, ["qwen2"] = ModelArchitecture.Qwen2,
    };

    public static bool IsFolder(string path) =>
        File.Exists(Path.Combine(path, "config.json"))
        && (File.Exists(Path.Combine(path, "model.safetensors")) || File.Exists(Path.Combine(path, "model.safetensors.index.json")));

    /// <summary>
    /// Reads <c>config.json</c> in either the transformers 4 form (top-level <c>rope_theta</c>) or the 5 form
    /// (<c>rope_parameters</c>). Settings this model cannot honour are refused with the reason; a sliding window is
    /// reported through <paramref name="warn"/> and ignored (full causal attention is used).
    /// </summary>
    public static LlamaConfig ReadConfig(string folder, Action<string>? warn = null)
    {
        var path = Path.Combine(folder, "config.json");
        try
        {
            return Validated(ParseConfig(path, warn), path);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: a field has the wrong type ({e.Message}).");
        }
    }

    /// <summary>Sizes that a model can be built from: positive, and heads that divide as attention needs.</summary>
    private static LlamaConfig Validated(LlamaConfig c, string path)
    {
        var sizes = new (string Key, int Value)[]
        {
            ("vocab_size", c.VocabSize), ("hidden_size", c.HiddenSize), ("intermediate_size", c.IntermediateSize),
            ("num_hidden_layers", c.Layers), ("num_attention_heads", c.Heads), ("num_key_value_heads", c.KeyValueHeads ?? c.Heads),
        };
        if (sizes.FirstOrDefault(x => x.Value <= 0) is { Key: not null } bad)
        {
            throw new InvalidDataException($"{path}: \"{bad.Key}\" is {bad.Value}; it must be positive.");
        }

        if (c.HeadDimension is null && c.HiddenSize % c.Heads != 0)
        {
            throw new InvalidDataException($"{path}: hidden_size {c.HiddenSize} is not a multiple of num_attention_heads {c.Heads} (and no head_dim is given).");
        }

        return c.Heads % c.KvHeads == 0 && c.HeadDim > 0 && c.HeadDim % 2 == 0
            ? c
            : throw new InvalidDataException($"{path}: {c.Heads} attention heads of size {c.HeadDim} cannot share {c.KvHeads} key/value heads (heads must divide evenly, head size must be even).");
    }

    // Longer than most on purpose: a table of config.json's fields, one statement each.
    private static LlamaConfig ParseConfig(string path, Action<string>? warn)
    {
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON ({e.Message}).");
        }

        var type = json["model_type"]?.GetValue<string>() ?? "llama";
        if (!Architectures.TryGetValue(type, out var architecture))
        {
            throw new NotSupportedException($"{path}: model_type '{type}' is not supported (llama, mistral, qwen2).");
        }

        int Int(string key) => json[key]?.GetValue<int>() ?? throw new InvalidDataException($"{path}: \"{key}\" is missing.");
        int? Token(string key) => json[key] switch
        {
            JsonArray list => list.Count > 0 ? list[0]!.GetValue<int>() : null,
            JsonValue v => v.GetValue<int>(),
            _ => null,
        };
        var rope = json["rope_parameters"] as JsonObject ?? json["rope_scaling"] as JsonObject;
        var ropeType = rope?["rope_type"]?.GetValue<string>() ?? rope?["type"]?.GetValue<string>() ?? "default";
        if (ropeType != "default")
        {
            throw new NotSupportedException($"{path}: rope type '{ropeType}' is not supported (only the default rotary embedding).");
        }

        if ((json["hidden_act"]?.GetValue<string>() ?? "silu") is not "silu" and var act)
        {
            throw new NotSupportedException($"{path}: hidden_act '{act}' is not supported (silu).");
        }

        if (json["mlp_bias"]?.GetValue<bool>() == true)
        {
            throw new NotSupportedException($"{path}: mlp_bias true is not supported.");
        }

        var window = json["sliding_window"]?.GetValue<int?>();
        var windowUsed = architecture == ModelArchitecture.Mistral || json["use_sliding_window"]?.GetValue<bool>() == true;
        if (window is not null && windowUsed)
        {
            (warn ?? (m => Console.Error.WriteLine($"warning: {m}")))($"{path}: sliding_window {window} is ignored; attention is full causal (identical up to {window} tokens).");
        }

        return new LlamaConfig
        {
            Architecture = architecture,
            VocabSize = Int("vocab_size"),
            HiddenSize = Int("hidden_size"),
            IntermediateSize = Int("intermediate_size"),
            Layers = Int("num_hidden_layers"),
            Heads = Int("num_attention_heads"),
            KeyValueHeads = json["num_key_value_heads"]?.GetValue<int?>(),
            HeadDimension = json["head_dim"]?.GetValue<int?>(),
            MaxPositions = json["max_position_embeddings"]?.GetValue<int>() ?? 2048,
            NormEps = json["rms_norm_eps"]?.GetValue<double>() ?? 1e-6,
            RopeTheta = rope?["rope_theta"]?.GetValue<double>() ?? json["rope_theta"]?.GetValue<double>() ?? 10000,
            TieEmbeddings = json["tie_word_embeddings"]?.GetValue<bool>() ?? false,
            AttentionBias = architecture == ModelArchitecture.Qwen2 || json["attention_bias"]?.GetValue<bool>() == true,
            BosTokenId = Token("bos_token_id"),
            EosTokenId = Token("eos_token_id"),
            PadTokenId = Token("pad_token_id"),
        };
    }

    /// <summary>
    /// The model of a folder, weights copied in by parameter name. A tensor the architecture has no place for, or a
    /// parameter the files lack, is an error that names it.
    /// </summary>
    public static LlamaForCausalLM Load(string folder, Action<string>? warn = null)
    {
        var model = new LlamaForCausalLM(ReadConfig(folder, warn));
        LoadWeights(model, folder);
        return model;
    }

    /// <summary>Copies the folder's safetensors weights (single file or shards) into <paramref name="model"/>.</summary>
    public static void LoadWeights(LlamaForCausalLM model, string folder)
    {
        var files = WeightFiles(folder);
        // A model with LoRA adapters takes its base from the folder; the adapters come from their own file.
        var parameters = model.state_dict().Where(p => !Lora.IsAdapterParameter(p.Key)).ToDictionary(p => p.Key, p => p.Value);
        var seen = new HashSet<string>();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var file in files)
        {
            foreach (var (name, tensor) in SafetensorsFile.Load(file))
            {
                if (Ignorable(name, model.Config))
                {
                    continue;
                }

                if (!parameters.TryGetValue(name, out var target))
                {
                    throw new InvalidDataException(
                        $"{file}: tensor '{name}' has no place in a {model.Config.Architecture} model with this config.json " +
                        $"(expected names like '{parameters.Keys.First(k => k.Contains(".layers.0."))}').");
                }

                if (!target.shape.SequenceEqual(tensor.shape))
                {
                    throw new InvalidDataException(
                        $"{file}: tensor '{name}' has shape [{string.Join(", ", tensor.shape)}], the model expects [{string.Join(", ", target.shape)}] from config.json.");
                }

                target.copy_(tensor);
                seen.Add(name);
            }
        }

        if (parameters.Keys.FirstOrDefault(k => !seen.Contains(k)) is { } missing)
        {
            throw new InvalidDataException(
                $"{folder}: the weights lack '{missing}'{(parameters.Count - seen.Count > 1 ? $" and {parameters.Count - seen.Count - 1} more" : string.Empty)} " +
                $"that a {model.Config.Architecture} model with this config.json needs.");
        }
    }

    /// <summary>
    /// Writes a complete Hugging Face folder: config.json, model.safetensors, generation_config.json and the
    /// tokenizer files (<paramref name="tokenizer"/>'s own, or the byte tokenizer written as a tokenizer.json).
    /// </summary>
    public static void Save(LlamaForCausalLM model, ITokenizer tokenizer, string folder)
    {
        if (model.LoraOptions is not null)
        {
            throw new InvalidOperationException("A model with LoRA adapters is saved merged (Lora.Merge) or as its adapters (Lora.SaveAdapter).");
        }

        Directory.CreateDirectory(folder);
        var config = model.Config with
        {
            BosTokenId = model.Config.BosTokenId ?? tokenizer.BosId,
            EosTokenId = model.Config.EosTokenId ?? tokenizer.EosId,
            PadTokenId = model.Config.PadTokenId ?? tokenizer.PadId,
        };
        var dtype = model.parameters().First().dtype;
        File.WriteAllText(Path.Combine(folder, "config.json"), ConfigJson(config, dtype).ToJsonString(Indented));
        var generation = new JsonObject { ["bos_token_id"] = config.BosTokenId, ["eos_token_id"] = config.EosTokenId, ["pad_token_id"] = config.PadTokenId };
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), generation.ToJsonString(Indented));
        SafetensorsFile.Save(Path.Combine(folder, "model.safetensors"), model.state_dict());
        tokenizer.WriteTo(folder);

        // The tokenizer knows no context length of its own: the model's is what callers may send.
        var tokenizerConfig = Path.Combine(folder, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig) && JsonNode.Parse(File.ReadAllText(tokenizerConfig)) is JsonObject written)
        {
            written["model_max_length"] = config.MaxPositions;
            File.WriteAllText(tokenizerConfig, written.ToJsonString(Indented));
        }
    }

    /// <summary>The transformers release whose <c>config.json</c> layout the export follows.</summary>
    public const string TransformersVersion = "5.17.0";

    private static string DtypeName(ScalarType dtype) => dtype == ScalarType.BFloat16 ? "bfloat16" : dtype == ScalarType.Float16 ? "float16" : "float32";

    /// <summary>A <c>config.json</c> in the form transformers writes, both rope forms included so versions 4 and 5 read it.</summary>
    public static JsonObject ConfigJson(LlamaConfig c, ScalarType dtype)
    {
        var (type, architecture) = c.Architecture switch
        {
            ModelArchitecture.Mistral => ("mistral", "MistralForCausalLM"),
            ModelArchitecture.Qwen2 => ("qwen2", "Qwen2ForCausalLM"),
            _ => ("llama", "LlamaForCausalLM"),
        };
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(architecture),
            ["model_type"] = type,
            ["vocab_size"] = c.VocabSize,
            ["hidden_size"] = c.HiddenSize,
            ["intermediate_size"] = c.IntermediateSize,
            ["num_hidden_layers"] = c.Layers,
            ["num_attention_heads"] = c.Heads,
            ["num_key_value_heads"] = c.KvHeads,
            ["head_dim"] = c.HeadDim,
            ["hidden_act"] = "silu",
            ["max_position_embeddings"] = c.MaxPositions,
            ["rms_norm_eps"] = c.NormEps,
            ["rope_theta"] = c.RopeTheta,
            ["rope_parameters"] = new JsonObject { ["rope_theta"] = c.RopeTheta, ["rope_type"] = "default" },
            ["tie_word_embeddings"] = c.TieEmbeddings,
            ["bos_token_id"] = c.BosTokenId,
            ["eos_token_id"] = c.EosTokenId,
            ["pad_token_id"] = c.PadTokenId,
            // transformers 5 reads dtype, version 4 torch_dtype: both, with the same value.
            ["dtype"] = DtypeName(dtype),
            ["torch_dtype"] = DtypeName(dtype),
            ["use_cache"] = true,

            // The release whose save_pretrained output this layout matches (the golden folders in tests/data/hf-golden).
            ["transformers_version"] = TransformersVersion,
        };
        switch (c.Architecture)
        {
            case ModelArchitecture.Llama:
                json["attention_bias"] = c.AttentionBias;
                json["mlp_bias"] = false;
                break;
            case ModelArchitecture.Mistral:
                json["sliding_window"] = null;
                break;
            case ModelArchitecture.Qwen2:
                json["use_sliding_window"] = false;
                json["sliding_window"] = null;
                break;
        }

        return json;
    }

    /// <summary>
    /// A tokenizer_config.json for tokenizers made here; its chat template is the Alpaca prompt the trainer uses, so
    /// chat front-ends (vLLM, Ollama, transformers pipelines) prompt the model as it was trained.
    /// </summary>
    public static JsonObject TokenizerConfig(string? bos, string eos, string pad) => new()
    {
        ["tokenizer_class"] = "PreTrainedTokenizerFast",
        ["bos_token"] = bos,
        ["eos_token"] = eos,
        ["pad_token"] = pad,
        ["clean_up_tokenization_spaces"] = false,
        ["model_max_length"] = 1_000_000,
        ["chat_template"] = AlpacaChatTemplate,
    };

    /// <summary>
    /// The chat template written with our tokenizers: the conversation laid out as <c>sa serve-model</c> lays it out for
    /// the Alpaca prompt (system messages first, then the earlier turns as <c>User:</c>/<c>Assistant:</c> lines, then
    /// the last user message, as the instruction), so vLLM, Ollama or transformers serving an export build the same
    /// prompt as our server (tested with @huggingface/jinja); an assistant answer after the last user message follows
    /// the prompt with the end-of-sequence token, as in training.
    /// </summary>
    public const string AlpacaChatTemplate =
        "{%- set ns = namespace(system='', history='', last=-1) -%}"
        + "{%- for m in messages -%}"
        + "{%- if m['role'] == 'system' or m['role'] == 'developer' -%}"
        + "{%- if ns.system -%}{%- set ns.system = ns.system + '\\n\\n' -%}{%- endif -%}"
        + "{%- set ns.system = ns.system + m['content'] -%}"
        + "{%- elif m['role'] == 'user' -%}{%- set ns.last = loop.index0 -%}{%- endif -%}"
        + "{%- endfor -%}"
        + "{%- for m in messages -%}"
        + "{%- if loop.index0 < ns.last and m['role'] != 'system' and m['role'] != 'developer' -%}"
        + "{%- if ns.history -%}{%- set ns.history = ns.history + '\\n' -%}{%- endif -%}"
        + "{%- if m['role'] == 'assistant' -%}{%- set ns.history = ns.history + 'Assistant: ' -%}{%- else -%}{%- set ns.history = ns.history + 'User: ' -%}{%- endif -%}"
        + "{%- set ns.history = ns.history + m['content'] -%}"
        + "{%- endif -%}"
        + "{%- endfor -%}"
        + "{%- set ns.question = ns.system -%}"
        + "{%- if ns.history -%}{%- if ns.question -%}{%- set ns.question = ns.question + '\\n\\n' -%}{%- endif -%}{%- set ns.question = ns.question + ns.history -%}{%- endif -%}"
        + "{%- if ns.last >= 0 and messages[ns.last]['content'] -%}{%- if ns.question -%}{%- set ns.question = ns.question + '\\n\\n' -%}{%- endif -%}{%- set ns.question = ns.question + messages[ns.last]['content'] -%}{%- endif -%}"
        + "{{- '### Instruction:\\n' + ns.question + '\\n\\n### Response:' -}}"
        + "{%- if messages[-1]['role'] == 'assistant' and messages | length - 1 > ns.last -%}{{- messages[-1]['content'] + eos_token -}}{%- endif -%}";

    private static bool Ignorable(string name, LlamaConfig config) =>
        name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal) || (config.TieEmbeddings && name == "lm_head.weight");

    private static List<string> WeightFiles(string folder)
    {
        var single = Path.Combine(folder, "model.safetensors");
        if (File.Exists(single))
        {
            return [single];
        }

        var index = Path.Combine(folder, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            var map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"]?.AsObject()
                ?? throw new InvalidDataException($"{index} has no weight_map.");
            return [.. map.Select(e => Path.Combine(folder, e.Value!.GetValue<string>())).Distinct()];
        }

        throw new FileNotFoundException(
            File.Exists(Path.Combine(folder, "pytorch_model.bin"))
                ? $"{folder} holds pytorch_model.bin only; convert it to safetensors first (transformers: save_pretrained(..., safe_serialization=True))."
                : $"{folder} has no model.safetensors (nor a sharded model.safetensors.index.json).");
    }
}
