using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace StableAlignment.Learning;

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
