using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace StableAlignment.Learning;

/// <summary>
/// Activation recomputation per decoder layer (<c>--gradient-checkpointing</c>): the forward pass keeps only each layer's
/// input; the backward pass runs the layer again from it, with gradients on, and takes the gradients of its input and
/// of its trained parameters from that second run. Memory for activations drops from every layer's intermediates to
/// one hidden state per layer (plus one layer's intermediates at a time), for about a third more compute. The dropout
/// generator's state is put back before the second run, so LoRA's dropout drops the same values both times.
/// </summary>
public sealed class CheckpointedLayer : SingleTensorFunction<CheckpointedLayer>
{
    public override string Name => nameof(CheckpointedLayer);

    private static long _recomputed;

    /// <summary>Layers recomputed in backward passes so far in this process (a diagnostic: is recomputation on?).</summary>
    public static long Recomputed => Interlocked.Read(ref _recomputed);

    /// <summary>The layer's output for <paramref name="x"/>, with a backward pass that recomputes the layer.</summary>
    public static Tensor Apply(DecoderLayer layer, Tensor x, BatchLayout? batch, Generator? noise)
    {
        // The trained parameters are inputs of the node, so that autograd asks it for their gradients.
        object[] inputs = [layer, x, new Context(batch, noise, noise is null ? null : State(noise)), .. layer.parameters().Where(p => p.requires_grad)];
        return apply(inputs);
    }

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var (layer, x, context) = ((DecoderLayer)vars[0], (Tensor)vars[1], (Context)vars[2]);
        ctx.save_for_backward([x]);
        ctx.save_data("layer", layer);
        ctx.save_data("context", context);
        ctx.save_data("count", vars.Length);
        return layer.Forward(x, null, context.Batch);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        var x = ctx.get_saved_variables()[0];
        var layer = (DecoderLayer)ctx.get_data("layer");
        var context = (Context)ctx.get_data("context");
        var count = (int)ctx.get_data("count");
        List<Parameter> trained = [.. layer.parameters().Where(p => p.requires_grad)];

        using var _ = enable_grad();
        var input = x.detach().requires_grad_(true);
        var now = context.Noise is null ? null : State(context.Noise);
        Restore(context.Noise, context.NoiseState);
        var output = layer.Forward(input, null, context.Batch);
        Restore(context.Noise, now);
        Interlocked.Increment(ref _recomputed);

        var grads = grad([output], [input, .. trained], [gradOutput], allow_unused: true);
        var result = new List<Tensor>(count) { null!, grads[0], null! };
        result.AddRange(grads.Skip(1));
        return result;
    }

    /// <summary>
    /// A generator's state as bytes: a tensor made in the forward pass would belong to that pass's dispose scope and be
    /// gone by the backward pass.
    /// </summary>
    private static byte[] State(Generator generator)
    {
        using var state = generator.get_state();
        return state.data<byte>().ToArray();
    }

    private static void Restore(Generator? generator, byte[]? state)
    {
        if (generator is not null && state is not null)
        {
            using var t = tensor(state);
            generator.set_state(t);
        }
    }

    /// <summary>What the recomputation needs besides the input: the batch layout and the dropout generator's state.</summary>
    private sealed record Context(BatchLayout? Batch, Generator? Noise, byte[]? NoiseState);
}
