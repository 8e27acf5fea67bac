using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace StableAlignment.Learning;

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
