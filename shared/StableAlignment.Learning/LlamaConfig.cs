using System.Text.Json.Serialization;

namespace StableAlignment.Learning;

/// <summary>The decoder families this trainer loads and writes; they differ only in the details named on each.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ModelArchitecture>))]
public enum ModelArchitecture
{
    /// <summary>LLaMA, TinyLlama, SmolLM: no biases, tied or untied embeddings.</summary>
    [JsonStringEnumMemberName("llama")] Llama,

    /// <summary>Mistral: the LLaMA layout; its sliding window is not used here (full causal attention).</summary>
    [JsonStringEnumMemberName("mistral")] Mistral,

    /// <summary>Qwen2 / Qwen2.5: biases on the query, key and value projections.</summary>
    [JsonStringEnumMemberName("qwen2")] Qwen2,
}

/// <summary>Sizes of a LLaMA-style decoder; field names follow Hugging Face's config.json.</summary>
public sealed record LlamaConfig
{
    [JsonPropertyName("model_type")] public ModelArchitecture Architecture { get; init; } = ModelArchitecture.Llama;
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 259;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 128;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 352;
    [JsonPropertyName("num_hidden_layers")] public int Layers { get; init; } = 2;
    [JsonPropertyName("num_attention_heads")] public int Heads { get; init; } = 4;
    [JsonPropertyName("num_key_value_heads")] public int? KeyValueHeads { get; init; }
    [JsonPropertyName("head_dim")] public int? HeadDimension { get; init; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositions { get; init; } = 512;
    [JsonPropertyName("rms_norm_eps")] public double NormEps { get; init; } = 1e-5;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000;
    [JsonPropertyName("tie_word_embeddings")] public bool TieEmbeddings { get; init; }

    /// <summary>Biases on the query, key and value projections (always for Qwen2; LLaMA's <c>attention_bias</c>).</summary>
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; init; }

    /// <summary>A bias on the output projection too: LLaMA's <c>attention_bias</c> puts one on o_proj, Qwen2's q/k/v biases do not.</summary>
    [JsonIgnore] public bool OutputBias => AttentionBias && Architecture == ModelArchitecture.Llama;

    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    [JsonPropertyName("eos_token_id")] public int? EosTokenId { get; init; }
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; init; }

    [JsonIgnore] public int KvHeads => KeyValueHeads ?? Heads;

    [JsonIgnore] public int HeadDim => HeadDimension ?? (HiddenSize / Heads);

    /// <summary>2 layers × 128 wide on bytes: the offline default for tests and quick runs.</summary>
    public static LlamaConfig Tiny => new();

    /// <summary>4 layers × 256 wide on bytes.</summary>
    public static LlamaConfig Small => new() { HiddenSize = 256, IntermediateSize = 688, Layers = 4, Heads = 8 };

    public static LlamaConfig Preset(string name) => name.ToLowerInvariant() switch
    {
        "tiny" => Tiny,
        "small" => Small,
        _ => throw new ArgumentException($"Unknown model size '{name}' (tiny, small, a Hugging Face folder or a checkpoint folder)."),
    };

    /// <summary>Parameters of the model, for FLOP estimates (6 × parameters × tokens per training step).</summary>
    public long ParameterCount()
    {
        long d = HiddenSize, h = IntermediateSize, q = (long)Heads * HeadDim, kv = (long)KvHeads * HeadDim;
        var perLayer = (d * q * 2) + (d * kv * 2) + (3 * d * h) + (2 * d) + (AttentionBias ? q + (2 * kv) : 0) + (OutputBias ? d : 0);
        return (VocabSize * d * (TieEmbeddings ? 1 : 2)) + (Layers * perLayer) + d;
    }
}
