using StableAlignment.Contracts;
using System.Globalization;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace StableAlignment.Learning;

/// <summary>
/// Low-rank adapters (LoRA): each targeted projection W (out × in) gains B·A, with A (r × in) and B (out × r), scaled by
/// alpha / r. The base weights stay frozen; only A and B train, so the optimiser state and the gradients are those of
/// the adapters. B starts at zero, so the adapted model starts as the base.
/// </summary>
public sealed record LoraOptions
{
    /// <summary>The adapters' rank r (at least 1).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>alpha: the update B·A is scaled by alpha / r.</summary>
    public double Alpha { get; init; } = new TrainingRecipe().LoraAlpha;

    /// <summary>Dropout on the adapters' input while training.</summary>
    public double Dropout { get; init; } = new TrainingRecipe().LoraDropout;

    /// <summary>The projections that get adapters, by their Hugging Face names.</summary>
    public IReadOnlyList<string> Targets { get; init; } = AllTargets;

    public static readonly string[] AllTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    public double Scale => Alpha / Rank;

    /// <summary>The first setting that cannot train, as "field: reason", or null.</summary>
    public string? Problem() => this switch
    {
        { Rank: < 1 or > 65_536 } => $"loraRank: {Rank} is not in 1–65536",
        _ when !double.IsFinite(Alpha) || Alpha <= 0 => $"loraAlpha: {Alpha} is not a positive number",
        _ when !double.IsFinite(Dropout) || Dropout is < 0 or >= 1 => $"loraDropout: {Dropout} is not in [0, 1)",
        _ when Targets.Count == 0 => "loraTargets: none given",
        _ when Targets.FirstOrDefault(t => !AllTargets.Contains(t)) is { } unknown => $"loraTargets: '{unknown}' is not one of {string.Join(", ", AllTargets)}",
        _ => null,
    };

    /// <summary>The adapters' parameter count for a model of this shape.</summary>
    public long ParameterCount(LlamaConfig c)
    {
        var (h, q, kv, i) = ((long)c.HiddenSize, (long)c.Heads * c.HeadDim, (long)c.KvHeads * c.HeadDim, (long)c.IntermediateSize);
        var sizes = new Dictionary<string, long>
        {
            ["q_proj"] = h + q, ["k_proj"] = h + kv, ["v_proj"] = h + kv, ["o_proj"] = q + h, ["gate_proj"] = h + i, ["up_proj"] = h + i, ["down_proj"] = i + h,
        };
        return c.Layers * Rank * Targets.Distinct().Sum(t => sizes[t]);
    }

    public string TargetList => string.Join(",", Targets);
}

/// <summary>The adapter of one projection: <c>forward(x)</c> is the update B·A·dropout(x)·alpha/r, in x's dtype.</summary>
public sealed class LoraAdapter : Module<Tensor, Tensor>
{
    private readonly Linear lora_A;
    private readonly Linear lora_B;
    private readonly double _dropout;

    public LoraAdapter(long inFeatures, long outFeatures, LoraOptions options) : base("LoraAdapter")
    {
        lora_A = Linear(inFeatures, options.Rank, hasBias: false);
        lora_B = Linear(options.Rank, outFeatures, hasBias: false);
        _dropout = options.Dropout;
        Scale = options.Scale;
        RegisterComponents();
    }

    public double Scale { get; }

    /// <summary>
    /// The generator of the dropout masks (set by the trainer and reseeded at each step from the run's seed and the
    /// step, so a resumed run drops exactly what the uninterrupted one would); null: the global generator.
    /// </summary>
    public Generator? Noise { get; set; }

    public Parameter A => lora_A.weight!;

    public Parameter B => lora_B.weight!;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // Over a bf16 base (bf16-mixed) the adapters are kept in fp32 and computed in bf16, as autocast would: the cast
        // weights take part in the graph, so their gradients reach the fp32 adapters, and what the backward pass keeps
        // is bf16 like the rest of the model's activations.
        var input = x;
        if (_dropout > 0 && training)
        {
            using var dropout = _dropout.ToScalar();
            using var kept = (1 - _dropout).ToScalar();
            var keep = rand(input.shape, dtype: input.dtype, device: input.device, generator: Noise).ge(dropout);
            input = input.mul(keep).div(kept);
        }

        var (a, b) = A.dtype == x.dtype ? ((Tensor)A, (Tensor)B) : (A.to(x.dtype), B.to(x.dtype));
        using var scale = Scale.ToScalar();
        return functional.linear(functional.linear(input, a), b).mul(scale).MoveToOuterDisposeScope();
    }

    /// <summary>The update as a weight (out × in): B·A·alpha/r, in fp32.</summary>
    public Tensor Delta() => B.to(ScalarType.Float32).matmul(A.to(ScalarType.Float32)) * Scale;
}

/// <summary>
/// LoRA checkpoints, merging and the PEFT folder (<c>adapter_config.json</c>, <c>adapter_model.safetensors</c>) that
/// PEFT, transformers and vLLM load.
/// </summary>
public static class Lora
{
    /// <summary>The adapter parameters of our model are named <c>…q_proj_lora.lora_A.weight</c>; PEFT's <c>…q_proj.lora_A.weight</c>.</summary>
    private const string Suffix = "_lora.";

    public const string AdapterFile = "adapter_model.safetensors";

    public const string ConfigFile = "adapter_config.json";

    public static bool IsAdapterParameter(string name) => name.Contains(Suffix, StringComparison.Ordinal);

    /// <summary>Our parameter name as PEFT writes it: <c>base_model.model.</c> + the Hugging Face name.</summary>
    public static string PeftName(string name) => "base_model.model." + name.Replace(Suffix, ".", StringComparison.Ordinal);

    /// <summary>A PEFT tensor name as ours (the adapter name "default", kept in memory by PEFT, may appear in it).</summary>
    public static string OurName(string peft)
    {
        const string prefix = "base_model.model.";
        var name = peft.StartsWith(prefix, StringComparison.Ordinal) ? peft[prefix.Length..] : peft;
        name = name.Replace(".default.weight", ".weight", StringComparison.Ordinal);
        foreach (var part in new[] { ".lora_A.", ".lora_B." })
        {
            name = name.Replace(part, "_lora" + part, StringComparison.Ordinal);
        }

        return name;
    }

    /// <summary>The frozen base: every parameter but the adapters' stops taking gradients.</summary>
    public static void FreezeBase(LlamaForCausalLM model)
    {
        foreach (var (name, p) in model.named_parameters())
        {
            p.requires_grad_(IsAdapterParameter(name));
        }
    }

    /// <summary>One dropout generator for all the model's adapters, on its device (see <see cref="LoraAdapter.Noise"/>).</summary>
    public static Generator? UseGenerator(LlamaForCausalLM model, Device device)
    {
        if (model.LoraOptions is null)
        {
            return null;
        }

        var generator = new Generator(0, device);
        model.Noise = generator;
        foreach (var (_, adapter) in Adapters(model))
        {
            adapter.Noise = generator;
        }

        return generator;
    }

    /// <summary>The model's adapters by the name of the weight they adapt (<c>model.layers.0.self_attn.q_proj.weight</c>).</summary>
    public static IEnumerable<(string Weight, LoraAdapter Adapter)> Adapters(LlamaForCausalLM model) =>
        model.named_modules().Where(m => m.module is LoraAdapter).Select(m => (m.name[..^"_lora".Length] + ".weight", (LoraAdapter)m.module));

    /// <summary>
    /// A plain model (no adapters) whose targeted weights are W + B·A·alpha/r, computed in fp32 and stored in W's dtype.
    /// </summary>
    public static LlamaForCausalLM Merge(LlamaForCausalLM adapted)
    {
        var merged = new LlamaForCausalLM(adapted.Config);
        var source = adapted.state_dict();
        var deltas = Adapters(adapted).ToDictionary(a => a.Weight, a => a.Adapter);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        merged.to(source.First(p => !IsAdapterParameter(p.Key)).Value.dtype);
        foreach (var (name, target) in merged.state_dict())
        {
            var weight = source[name];
            target.copy_(deltas.TryGetValue(name, out var adapter) ? (weight.to(ScalarType.Float32) + adapter.Delta()).to(target.dtype) : weight);
        }

        return merged;
    }

    /// <summary>Writes the adapters as a PEFT folder's two files into <paramref name="folder"/>.</summary>
    public static void SaveAdapter(LlamaForCausalLM model, LoraOptions options, string baseModel, string folder) =>
        WriteAdapter(model.state_dict().Where(p => IsAdapterParameter(p.Key)).Select(p => KeyValuePair.Create(PeftName(p.Key), p.Value)), options, baseModel, folder);

    /// <summary>The PEFT folder's two files: the tensors (already under PEFT's names) and <c>adapter_config.json</c>.</summary>
    private static void WriteAdapter(IEnumerable<KeyValuePair<string, Tensor>> tensors, LoraOptions options, string baseModel, string folder)
    {
        Directory.CreateDirectory(folder);
        SafetensorsFile.Save(Path.Combine(folder, AdapterFile), tensors);
        File.WriteAllText(Path.Combine(folder, ConfigFile), AdapterConfig(options, baseModel).ToJsonString(HuggingFace.Indented));
    }

    /// <summary>Copies a PEFT folder's (or a LoRA checkpoint's) adapter tensors into the model's adapters; each must match.</summary>
    public static void LoadAdapter(LlamaForCausalLM model, string folder)
    {
        var file = Path.Combine(folder, AdapterFile);
        var parameters = model.state_dict().Where(p => IsAdapterParameter(p.Key)).ToDictionary(p => p.Key, p => p.Value);
        var seen = new HashSet<string>();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (peft, tensor) in SafetensorsFile.Load(file))
        {
            var name = OurName(peft);
            if (!parameters.TryGetValue(name, out var target))
            {
                throw new InvalidDataException($"{file}: tensor '{peft}' has no adapter in this model (its lora-targets or the base differ).");
            }

            if (!target.shape.SequenceEqual(tensor.shape))
            {
                throw new InvalidDataException($"{file}: tensor '{peft}' has shape [{string.Join(", ", tensor.shape)}], the adapter expects [{string.Join(", ", target.shape)}].");
            }

            target.copy_(tensor);
            seen.Add(name);
        }

        if (parameters.Keys.FirstOrDefault(k => !seen.Contains(k)) is { } missing)
        {
            throw new InvalidDataException($"{file} lacks '{PeftName(missing)}'.");
        }
    }

    /// <summary>A LoRA checkpoint's adapters as a PEFT folder in <paramref name="dtype"/>, with the tokenizer.</summary>
    public static void ExportAdapter(string checkpoint, LoraOptions options, string baseModel, ScalarType dtype, ITokenizer tokenizer, string folder)
    {
        using var scope = NewDisposeScope();
        WriteAdapter([.. SafetensorsFile.Load(Path.Combine(checkpoint, AdapterFile)).Select(t => KeyValuePair.Create(t.Key, t.Value.to(dtype)))], options, baseModel, folder);
        tokenizer.WriteTo(folder);
    }

    /// <summary>PEFT's <c>adapter_config.json</c> for these options.</summary>
    public static JsonObject AdapterConfig(LoraOptions o, string baseModel) => new()
    {
        ["peft_type"] = "LORA",
        ["task_type"] = "CAUSAL_LM",
        ["base_model_name_or_path"] = baseModel,
        ["r"] = o.Rank,
        ["lora_alpha"] = o.Alpha,
        ["lora_dropout"] = o.Dropout,
        ["target_modules"] = new JsonArray([.. o.Targets.Select(t => (JsonNode)JsonValue.Create(t))]),
        ["bias"] = "none",
        ["fan_in_fan_out"] = false,
        ["inference_mode"] = true,
        ["init_lora_weights"] = true,
        ["modules_to_save"] = null,
        ["use_rslora"] = false,
        ["use_dora"] = false,
        ["layers_to_transform"] = null,
        ["layers_pattern"] = null,
        ["rank_pattern"] = new JsonObject(),
        ["alpha_pattern"] = new JsonObject(),
        ["revision"] = null,
    };

    public static string Describe(LoraOptions o, LlamaConfig c) =>
        string.Create(CultureInfo.InvariantCulture, $"LoRA r {o.Rank}, alpha {o.Alpha:g}, dropout {o.Dropout:g}, on {o.TargetList}: {o.ParameterCount(c):N0} trained parameters");
}
