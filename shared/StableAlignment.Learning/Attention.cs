using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace StableAlignment.Learning;

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
        o_proj = Linear(c.Heads * c.HeadDim, c.HiddenSize, hasBias: c.OutputBias);
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
