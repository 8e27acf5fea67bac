using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace StableAlignment.Learning;

/// <summary>Root-mean-square layer norm with a learned scale.</summary>
public sealed class RmsNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;

    public RmsNorm(int size, double eps) : base("RmsNorm")
    {
        weight = Parameter(ones(size));
        _eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // TorchSharp 0.107 frees a Scalar only by its finalizer, and an implicit one (`t + 1e-6`, or the alpha of 1 that
        // `add` makes) is unreachable while the native call still reads it: a collection in that window hands libtorch
        // freed memory ("Unknown scalar type"). Here, the hottest scalar site, both stay referenced until the end.
        using var eps = _eps.ToScalar();
        var xf = x.to(ScalarType.Float32);
        // As Hugging Face's: normalise in fp32, cast back, then scale, so bf16 runs round the same way.
        var normed = xf * rsqrt(xf.square().mean([-1], keepdim: true).add(eps, HeldScalars.One));
        return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>Scalars that live as long as the process, so no finalizer can free them while libtorch reads them.</summary>
/// <summary>
/// TorchSharp 0.107 frees a Scalar only in its finalizer and keeps no reference to it during the native call, so an
/// implicit one (a number passed where a Scalar is expected) can be collected while libtorch reads it ("Unknown scalar
/// type"). Scalars here are either held in a static field or declared with <c>using</c> around the call.
/// </summary>
internal static class HeldScalars
{
    public static readonly Scalar One = 1.ToScalar();
}

/// <summary>
/// Causal self-attention with rotary position embeddings (the Hugging Face rotate-half convention), grouped key/value
/// heads, and optional query/key/value biases (Qwen2).
/// </summary>
public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly LoraAdapter? q_proj_lora;
    private readonly LoraAdapter? k_proj_lora;
    private readonly LoraAdapter? v_proj_lora;
    private readonly LoraAdapter? o_proj_lora;
    private readonly LlamaConfig _c;

    public Attention(LlamaConfig c, LoraOptions? lora = null) : base("Attention")
    {
        _c = c;
        q_proj = Linear(c.HiddenSize, c.Heads * c.HeadDim, hasBias: c.AttentionBias);
        k_proj = Linear(c.HiddenSize, c.KvHeads * c.HeadDim, hasBias: c.AttentionBias);
        v_proj = Linear(c.HiddenSize, c.KvHeads * c.HeadDim, hasBias: c.AttentionBias);
        o_proj = Linear(c.Heads * c.HeadDim, c.HiddenSize, hasBias: false);
        q_proj_lora = Adapter(lora, "q_proj", c.HiddenSize, c.Heads * c.HeadDim);
        k_proj_lora = Adapter(lora, "k_proj", c.HiddenSize, c.KvHeads * c.HeadDim);
        v_proj_lora = Adapter(lora, "v_proj", c.HiddenSize, c.KvHeads * c.HeadDim);
        o_proj_lora = Adapter(lora, "o_proj", c.Heads * c.HeadDim, c.HiddenSize);
        RegisterComponents();
    }

    /// <summary>An adapter for the projection when LoRA targets it, else null (no parameters, no cost).</summary>
    internal static LoraAdapter? Adapter(LoraOptions? lora, string projection, long inFeatures, long outFeatures) =>
        lora is not null && lora.Targets.Contains(projection) ? new LoraAdapter(inFeatures, outFeatures, lora) : null;

    /// <summary>The projection of x, plus its adapter's update when it has one.</summary>
    internal static Tensor Project(Linear projection, LoraAdapter? adapter, Tensor x) =>
        adapter is null ? projection.forward(x) : projection.forward(x) + adapter.forward(x);

    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// With a cache slot the new positions continue after the cached ones and their keys and values are appended,
    /// so generation computes each token once instead of re-running the whole prefix. For a batch of sequences of
    /// different lengths (left-padded), <paramref name="batch"/> gives each row's positions and which keys it may see.
    /// </summary>
    public Tensor Forward(Tensor x, LayerCache? cache, BatchLayout? batch = null)
    {
        using var scope = NewDisposeScope();
        var (b, t) = (x.shape[0], x.shape[1]);
        var past = cache?.Length ?? 0;
        var q = Project(q_proj, q_proj_lora, x).view(b, t, _c.Heads, _c.HeadDim).transpose(1, 2);
        var k = Project(k_proj, k_proj_lora, x).view(b, t, _c.KvHeads, _c.HeadDim).transpose(1, 2);
        var v = Project(v_proj, v_proj_lora, x).view(b, t, _c.KvHeads, _c.HeadDim).transpose(1, 2);
        var (cos, sin) = batch is null ? Rotary(past, t, x.device, x.dtype) : Rotary(batch.Positions, x.dtype);
        q = (q * cos) + (RotateHalf(q) * sin);
        k = (k * cos) + (RotateHalf(k) * sin);
        if (cache is not null)
        {
            (k, v) = cache.Append(k, v);
        }

        if (_c.KvHeads != _c.Heads)
        {
            k = k.repeat_interleave(_c.Heads / _c.KvHeads, dim: 1);
            v = v.repeat_interleave(_c.Heads / _c.KvHeads, dim: 1);
        }

        // One new token attends to everything cached; a block of new tokens is causal within itself.
        var y = batch is not null
            ? functional.scaled_dot_product_attention(q, k, v, attn_mask: batch.Mask)
            : past > 0 && t == 1
            ? functional.scaled_dot_product_attention(q, k, v)
            : functional.scaled_dot_product_attention(q, k, v, is_casual: past == 0);
        return Project(o_proj, o_proj_lora, y.transpose(1, 2).contiguous().view(b, t, _c.Heads * _c.HeadDim)).MoveToOuterDisposeScope();
    }

    private (Tensor Cos, Tensor Sin) Rotary(long start, long length, Device device, ScalarType dtype)
    {
        using var first = start.ToScalar();
        using var end = (start + length).ToScalar();
        var inv = InverseFrequencies(device);
        var freqs = outer(arange(first, end, dtype: ScalarType.Float32, device: device), inv);
        var emb = cat([freqs, freqs], -1);
        return (emb.cos().to(dtype), emb.sin().to(dtype));
    }

    /// <summary>theta^(-2i/d) for i below d/2, computed in float32 as Hugging Face's LLaMA computes it.</summary>
    private Tensor InverseFrequencies(Device device)
    {
        using var zero = 0.ToScalar();
        using var half = (_c.HeadDim / 2).ToScalar();
        using var two = 2.0.ToScalar();
        using var dim = _c.HeadDim.ToScalar();
        // The base is a 0-dim float64 tensor, as an implicit conversion of the number made it; the result is float32.
        using var theta = tensor(_c.RopeTheta);
        return pow(theta, arange(zero, half, dtype: ScalarType.Float32, device: device).neg().mul(two).div(dim));
    }

    /// <summary>Rotary factors for explicit positions (batch, time), shaped (batch, 1, time, head) to broadcast over heads.</summary>
    private (Tensor Cos, Tensor Sin) Rotary(Tensor positions, ScalarType dtype)
    {
        var inv = InverseFrequencies(positions.device);
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * inv;
        var emb = cat([freqs, freqs], -1).unsqueeze(1);
        return (emb.cos().to(dtype), emb.sin().to(dtype));
    }

    private static Tensor RotateHalf(Tensor x)
    {
        var half = x.shape[^1] / 2;
        return cat([-x[TensorIndex.Ellipsis, TensorIndex.Slice(half)], x[TensorIndex.Ellipsis, TensorIndex.Slice(0, half)]], -1);
    }
}

/// <summary>SwiGLU feed-forward.</summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;
    private readonly LoraAdapter? gate_proj_lora;
    private readonly LoraAdapter? up_proj_lora;
    private readonly LoraAdapter? down_proj_lora;

    public Mlp(LlamaConfig c, LoraOptions? lora = null) : base("Mlp")
    {
        gate_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        up_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        down_proj = Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
        gate_proj_lora = Attention.Adapter(lora, "gate_proj", c.HiddenSize, c.IntermediateSize);
        up_proj_lora = Attention.Adapter(lora, "up_proj", c.HiddenSize, c.IntermediateSize);
        down_proj_lora = Attention.Adapter(lora, "down_proj", c.IntermediateSize, c.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gated = functional.silu(Attention.Project(gate_proj, gate_proj_lora, x)) * Attention.Project(up_proj, up_proj_lora, x);
        return Attention.Project(down_proj, down_proj_lora, gated).MoveToOuterDisposeScope();
    }
}

public sealed class DecoderLayer : Module<Tensor, Tensor>
{
    private readonly Attention self_attn;
    private readonly Mlp mlp;
    private readonly RmsNorm input_layernorm;
    private readonly RmsNorm post_attention_layernorm;

    public DecoderLayer(LlamaConfig c, LoraOptions? lora = null) : base("DecoderLayer")
    {
        self_attn = new Attention(c, lora);
        mlp = new Mlp(c, lora);
        input_layernorm = new RmsNorm(c.HiddenSize, c.NormEps);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.NormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    public Tensor Forward(Tensor x, LayerCache? cache, BatchLayout? batch = null)
    {
        using var scope = NewDisposeScope();
        // Residual sums with a held alpha (see RmsNorm.forward).
        var h = x.add(self_attn.Forward(input_layernorm.forward(x), cache, batch), HeldScalars.One);
        return h.add(mlp.forward(post_attention_layernorm.forward(h)), HeldScalars.One).MoveToOuterDisposeScope();
    }
}

public sealed class LlamaBody : Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DecoderLayer> layers;
    private readonly RmsNorm norm;

    public LlamaBody(LlamaConfig c, LoraOptions? lora = null) : base("LlamaBody")
    {
        embed_tokens = Embedding(c.VocabSize, c.HiddenSize);
        layers = new ModuleList<DecoderLayer>([.. Enumerable.Range(0, c.Layers).Select(_ => new DecoderLayer(c, lora))]);
        norm = new RmsNorm(c.HiddenSize, c.NormEps);
        RegisterComponents();
    }

    public Tensor EmbeddingWeight => embed_tokens.weight!;

    public override Tensor forward(Tensor tokens) => Forward(tokens, null);

    /// <summary>Recompute each layer in the backward pass instead of keeping its activations (<see cref="CheckpointedLayer"/>).</summary>
    public bool Checkpointing { get; set; }

    /// <summary>The dropout generator of the model's adapters, whose state recomputation restores.</summary>
    public Generator? Noise { get; set; }

    public Tensor Forward(Tensor tokens, KvCache? cache, BatchLayout? batch = null)
    {
        using var scope = NewDisposeScope();
        var x = embed_tokens.forward(tokens);
        var recompute = Checkpointing && training && cache is null && is_grad_enabled();
        for (var i = 0; i < layers.Count; i++)
        {
            x = recompute ? CheckpointedLayer.Apply(layers[i], x, batch, Noise) : layers[i].Forward(x, cache?[i], batch);
        }

        return norm.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A LLaMA-style causal language model (LLaMA, Mistral and Qwen2 layouts): RMSNorm, rotary embeddings, SwiGLU, causal
/// attention through scaled dot-product attention. Parameter names are Hugging Face's
/// (<c>model.layers.0.self_attn.q_proj.weight</c>, …), so weights map by name in both directions.
/// </summary>
public sealed class LlamaForCausalLM : Module<Tensor, Tensor>
{
    private readonly LlamaBody model;
    /// <summary>Absent when the embeddings are tied: the output projection is then the embedding matrix itself.</summary>
    private readonly Linear? lm_head;

    private static readonly Lock InitLock = new();

    /// <param name="seed">Seed of the initial weights, for reproducible runs. Construction and initialisation take a
    /// process-wide lock, so that models built at the same time on other threads cannot draw from the global generator
    /// in between.</param>
    /// <param name="lora">LoRA adapters on the targeted projections, the rest frozen (<see cref="Lora"/>). The base weights
    /// are drawn first, so a seed gives the same base with or without adapters.</param>
    public LlamaForCausalLM(LlamaConfig config, long? seed = null, LoraOptions? lora = null) : base("LlamaForCausalLM")
    {
        Config = config;
        LoraOptions = lora;

        // Built and initialised under a process-wide lock: layer constructors draw from the global generator, so a
        // model built on another thread between this one's seed and its draws would change its weights.
        lock (InitLock)
        {
            model = new LlamaBody(config, lora);
            lm_head = config.TieEmbeddings ? null : Linear(config.HiddenSize, config.VocabSize, hasBias: false);
            RegisterComponents();
            if (seed is { } s)
            {
                random.manual_seed(s);
            }

            // The adapters draw from a generator of their own, after the base: a seed gives the same base with or without them.
            using var adapters = seed is { } own ? new Generator((ulong)own + 1, CPU) : null;
            using (no_grad())
            {
                foreach (var (name, p) in named_parameters().Where(p => !StableAlignment.Learning.Lora.IsAdapterParameter(p.name)))
                {
                    if (name.EndsWith(".bias", StringComparison.Ordinal))
                    {
                        init.zeros_(p);
                    }
                    else if (!name.EndsWith("norm.weight", StringComparison.Ordinal))
                    {
                        init.normal_(p, 0, 0.02);
                    }
                }

                // As PEFT: A as a linear layer's default (Kaiming-uniform with a = √5, that is U(±1/√fan_in)), B zero,
                // so the adapted model starts as the base.
                foreach (var (_, adapter) in StableAlignment.Learning.Lora.Adapters(this))
                {
                    var bound = 1 / Math.Sqrt(adapter.A.shape[1]);
                    init.uniform_(adapter.A, -bound, bound, adapters);
                    init.zeros_(adapter.B);
                }
            }
        }

        if (lora is not null)
        {
            StableAlignment.Learning.Lora.FreezeBase(this);
        }
    }

    public LlamaConfig Config { get; }

    /// <summary>Activation recomputation per decoder layer while training (<see cref="CheckpointedLayer"/>).</summary>
    public bool GradientCheckpointing
    {
        get => model.Checkpointing;
        set => model.Checkpointing = value;
    }

    /// <summary>The dropout generator of the adapters (<see cref="Lora.UseGenerator"/>).</summary>
    public Generator? Noise
    {
        get => model.Noise;
        set => model.Noise = value;
    }

    /// <summary>The adapters' settings when this model carries LoRA adapters; null for a plain model.</summary>
    public LoraOptions? LoraOptions { get; }

    /// <summary>Logits (batch, time, vocabulary) for token ids (batch, time).</summary>
    public override Tensor forward(Tensor tokens) => Forward(tokens, null);

    /// <summary>Logits for new tokens after those already in <paramref name="cache"/> (which receives their keys and values).</summary>
    public Tensor Forward(Tensor tokens, KvCache? cache, BatchLayout? batch = null)
    {
        using var scope = NewDisposeScope();
        var h = model.Forward(tokens, cache, batch);
        var logits = lm_head is null ? functional.linear(h, model.EmbeddingWeight) : lm_head.forward(h);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>The last hidden states (batch, time, hidden) after the final norm, before the output projection.</summary>
    public Tensor Hidden(Tensor tokens, BatchLayout? batch = null) => model.Forward(tokens, null, batch);
}

/// <summary>
/// Positions (batch, time) of the tokens being fed and the boolean attention mask (batch, 1, time, keys) for a batch of
/// left-padded sequences: each row sees its own real tokens only, and a pad position sees itself (so no row of the
/// softmax is empty).
/// </summary>
public sealed record BatchLayout(Tensor Positions, Tensor Mask);

/// <summary>Keys and values of one layer for the positions seen so far.</summary>
public sealed class LayerCache : IDisposable
{
    private Tensor? _k;
    private Tensor? _v;

    public long Length => _k?.shape[2] ?? 0;

    public (Tensor K, Tensor V) Append(Tensor k, Tensor v)
    {
        var newK = _k is null ? k.detach() : cat([_k, k.detach()], 2);
        var newV = _v is null ? v.detach() : cat([_v, v.detach()], 2);
        _k?.Dispose();
        _v?.Dispose();
        _k = newK.DetachFromDisposeScope();
        _v = newV.DetachFromDisposeScope();
        return (_k, _v);
    }

    /// <summary>Keeps only the given rows of the batch (finished sequences leave it).</summary>
    public void Keep(Tensor rows)
    {
        if (_k is null || _v is null)
        {
            return;
        }

        var (k, v) = (_k.index_select(0, rows).DetachFromDisposeScope(), _v.index_select(0, rows).DetachFromDisposeScope());
        _k.Dispose();
        _v.Dispose();
        (_k, _v) = (k, v);
    }

    public void Dispose()
    {
        _k?.Dispose();
        _v?.Dispose();
    }
}

/// <summary>The key/value cache of a whole model, one slot per layer.</summary>
public sealed class KvCache(int layers) : IDisposable
{
    private readonly LayerCache[] _layers = [.. Enumerable.Range(0, layers).Select(_ => new LayerCache())];

    public LayerCache this[int layer] => _layers[layer];

    public long Length => _layers[0].Length;

    /// <summary>Keeps only the given rows of the batch in every layer.</summary>
    public void Keep(Tensor rows)
    {
        foreach (var l in _layers)
        {
            l.Keep(rows);
        }
    }

    public void Dispose()
    {
        foreach (var l in _layers)
        {
            l.Dispose();
        }
    }
}
