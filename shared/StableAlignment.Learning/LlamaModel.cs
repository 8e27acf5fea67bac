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
        var variance = x.to(ScalarType.Float32).pow(2).mean([-1], keepdim: true);
        var normed = x * rsqrt(variance + _eps).to(x.dtype);
        return (normed * weight).MoveToOuterDisposeScope();
    }
}

/// <summary>Causal self-attention with rotary position embeddings (the Hugging Face rotate-half convention).</summary>
public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly LlamaConfig _c;

    public Attention(LlamaConfig c) : base("Attention")
    {
        _c = c;
        q_proj = Linear(c.HiddenSize, c.Heads * c.HeadDim, hasBias: false);
        k_proj = Linear(c.HiddenSize, c.KvHeads * c.HeadDim, hasBias: false);
        v_proj = Linear(c.HiddenSize, c.KvHeads * c.HeadDim, hasBias: false);
        o_proj = Linear(c.Heads * c.HeadDim, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, t) = (x.shape[0], x.shape[1]);
        var q = q_proj.forward(x).view(b, t, _c.Heads, _c.HeadDim).transpose(1, 2);
        var k = k_proj.forward(x).view(b, t, _c.KvHeads, _c.HeadDim).transpose(1, 2);
        var v = v_proj.forward(x).view(b, t, _c.KvHeads, _c.HeadDim).transpose(1, 2);
        var (cos, sin) = Rotary(t, x.device, x.dtype);
        q = (q * cos) + (RotateHalf(q) * sin);
        k = (k * cos) + (RotateHalf(k) * sin);
        if (_c.KvHeads != _c.Heads)
        {
            k = k.repeat_interleave(_c.Heads / _c.KvHeads, dim: 1);
            v = v.repeat_interleave(_c.Heads / _c.KvHeads, dim: 1);
        }

        var y = functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        return o_proj.forward(y.transpose(1, 2).contiguous().view(b, t, _c.Heads * _c.HeadDim)).MoveToOuterDisposeScope();
    }

    private (Tensor Cos, Tensor Sin) Rotary(long length, Device device, ScalarType dtype)
    {
        var half = _c.HeadDim / 2;
        var inv = pow(_c.RopeTheta, -arange(0, half, dtype: ScalarType.Float32, device: device) * 2.0 / _c.HeadDim);
        var freqs = outer(arange(length, dtype: ScalarType.Float32, device: device), inv);
        var emb = cat([freqs, freqs], -1);
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

    public Mlp(LlamaConfig c) : base("Mlp")
    {
        gate_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        up_proj = Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        down_proj = Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_proj.forward(functional.silu(gate_proj.forward(x)) * up_proj.forward(x)).MoveToOuterDisposeScope();
    }
}

public sealed class DecoderLayer : Module<Tensor, Tensor>
{
    private readonly Attention self_attn;
    private readonly Mlp mlp;
    private readonly RmsNorm input_layernorm;
    private readonly RmsNorm post_attention_layernorm;

    public DecoderLayer(LlamaConfig c) : base("DecoderLayer")
    {
        self_attn = new Attention(c);
        mlp = new Mlp(c);
        input_layernorm = new RmsNorm(c.HiddenSize, c.NormEps);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.NormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.forward(input_layernorm.forward(x));
        return (h + mlp.forward(post_attention_layernorm.forward(h))).MoveToOuterDisposeScope();
    }
}

public sealed class LlamaBody : Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DecoderLayer> layers;
    private readonly RmsNorm norm;

    public LlamaBody(LlamaConfig c) : base("LlamaBody")
    {
        embed_tokens = Embedding(c.VocabSize, c.HiddenSize);
        layers = new ModuleList<DecoderLayer>([.. Enumerable.Range(0, c.Layers).Select(_ => new DecoderLayer(c))]);
        norm = new RmsNorm(c.HiddenSize, c.NormEps);
        RegisterComponents();
    }

    public Tensor EmbeddingWeight => embed_tokens.weight!;

    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var x = embed_tokens.forward(tokens);
        foreach (var layer in layers)
        {
            x = layer.forward(x);
        }

        return norm.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A LLaMA-style causal language model: RMSNorm, rotary embeddings, SwiGLU, causal attention through scaled
/// dot-product attention. Parameter names are Hugging Face's (<c>model.layers.0.self_attn.q_proj.weight</c>, …).
/// </summary>
public sealed class LlamaForCausalLM : Module<Tensor, Tensor>
{
    private readonly LlamaBody model;
    private readonly Linear lm_head;

    private static readonly Lock InitLock = new();

    /// <param name="seed">Seed of the initial weights, for reproducible runs. Initialisation takes a process-wide lock, so
    /// that models built at the same time on other threads cannot draw from the global generator in between.</param>
    public LlamaForCausalLM(LlamaConfig config, long? seed = null) : base("LlamaForCausalLM")
    {
        Config = config;
        model = new LlamaBody(config);
        lm_head = Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        RegisterComponents();
        lock (InitLock)
        {
            if (seed is { } s)
            {
                random.manual_seed(s);
            }

            using (no_grad())
            {
                foreach (var (name, p) in named_parameters())
                {
                    if (!name.EndsWith("norm.weight", StringComparison.Ordinal))
                    {
                        init.normal_(p, 0, 0.02);
                    }
                }
            }
        }
    }

    public LlamaConfig Config { get; }

    /// <summary>Logits (batch, time, vocabulary) for token ids (batch, time).</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var h = model.forward(tokens);
        var logits = Config.TieEmbeddings ? functional.linear(h, model.EmbeddingWeight) : lm_head.forward(h);
        return logits.MoveToOuterDisposeScope();
    }
}
