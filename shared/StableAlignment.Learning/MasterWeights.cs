using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>
/// bf16-mixed training: the model the optimiser sees (<see cref="Master"/>) keeps fp32 weights, and a bf16 copy
/// (<see cref="Working"/>) runs forward and backward. After each pass the copy's bf16 gradients are added into fp32
/// accumulators and cleared, so a step's passes accumulate in fp32; before the optimiser step the sums become the
/// master's gradients; after it the master is copied back into the bf16 copy. The optimiser state is fp32 because the
/// master's parameters are.
/// </summary>
public sealed class MasterWeights : IDisposable
{
    private readonly List<(Parameter Master, Parameter Working, Tensor Sum)> _pairs = [];

    public MasterWeights(LlamaForCausalLM master, Device device)
    {
        Master = master;
        Working = new LlamaForCausalLM(master.Config, seed: 0);
        Working.to(device);
        Working.to(ScalarType.BFloat16);
        var working = Working.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in master.named_parameters())
        {
            if (!parameter.requires_grad)
            {
                working[name].requires_grad_(false);
                continue;
            }

            _pairs.Add((parameter, working[name], zeros_like(parameter)));
            // The master's gradient tensors exist from the start and are overwritten each step (never set to null).
            parameter.backward([zeros_like(parameter)]);
        }

        CopyBack();
    }

    public LlamaForCausalLM Master { get; }

    public LlamaForCausalLM Working { get; }

    /// <summary>Adds the bf16 copy's gradients into the fp32 sums and clears them (after each backward pass).</summary>
    public void Accumulate()
    {
        using var _ = no_grad();
        foreach (var (_, working, sum) in _pairs)
        {
            if (working.grad is { } grad)
            {
                sum.add_(grad.to(ScalarType.Float32));
                grad.zero_();
            }
        }
    }

    /// <summary>The step's fp32 sums become the master's gradients; the sums start again from zero.</summary>
    public void LoadGradients()
    {
        using var _ = no_grad();
        foreach (var (master, _, sum) in _pairs)
        {
            master.grad!.copy_(sum);
            sum.zero_();
        }
    }

    /// <summary>The master's weights, rounded to bf16, into the working copy (after each optimiser step).</summary>
    public void CopyBack()
    {
        using var _ = no_grad();
        var master = Master.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, working) in Working.named_parameters())
        {
            working.copy_(master[name]);
        }
    }

    public void Dispose()
    {
        foreach (var (_, _, sum) in _pairs)
        {
            sum.Dispose();
        }

        Working.Dispose();
    }
}
