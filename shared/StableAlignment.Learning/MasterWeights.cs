using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>
/// bf16-mixed training: the model the optimiser steps keeps fp32 weights (the master), and a bf16 copy
/// (<see cref="Working"/>) runs forward and backward. After each pass the copy's bf16 gradients are added into the
/// master's fp32 gradients and cleared, so a step's passes accumulate in fp32; after the optimiser step the master is
/// copied back into the bf16 copy. The optimiser state is fp32 because the master's parameters are.
/// </summary>
public sealed class MasterWeights : IDisposable
{
    private readonly List<(Parameter Master, Parameter Working)> _trained = [];

    public MasterWeights(LlamaForCausalLM master, Device device)
    {
        Working = new LlamaForCausalLM(master.Config, seed: 0);
        Working.to(device);
        Working.to(ScalarType.BFloat16);
        var working = Working.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var _ = no_grad();
        foreach (var (name, parameter) in master.named_parameters())
        {
            working[name].copy_(parameter);
            if (!parameter.requires_grad)
            {
                working[name].requires_grad_(false);
                continue;
            }

            _trained.Add((parameter, working[name]));
        }

        // The master's gradients exist from the start and are summed into in place (never set to null).
        foreach (var (m, _) in _trained)
        {
            using var enabled = enable_grad();
            m.backward([zeros_like(m)]);
        }
    }

    public LlamaForCausalLM Working { get; }

    /// <summary>Clears the master's fp32 gradients (before a step's first pass).</summary>
    public void ZeroGradients()
    {
        foreach (var (master, _) in _trained)
        {
            master.grad!.zero_();
        }
    }

    /// <summary>Adds the bf16 copy's gradients into the master's fp32 gradients and clears them (after each backward pass).</summary>
    public void Accumulate()
    {
        using var _ = no_grad();
        foreach (var (master, working) in _trained)
        {
            if (working.grad is { } grad)
            {
                master.grad!.add_(grad.to(ScalarType.Float32));
                grad.zero_();
            }
        }
    }

    /// <summary>The master's trained weights, rounded to bf16, into the working copy (after each optimiser step).</summary>
    public void CopyBack()
    {
        using var _ = no_grad();
        foreach (var (master, working) in _trained)
        {
            working.copy_(master);
        }
    }

    public void Dispose() => Working.Dispose();
}
