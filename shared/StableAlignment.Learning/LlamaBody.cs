using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace StableAlignment.Learning;

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
