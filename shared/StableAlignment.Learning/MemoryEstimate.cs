using StableAlignment.Contracts;
using System.Diagnostics;
using System.Globalization;

namespace StableAlignment.Learning;

/// <summary>
/// What a training run will hold in memory, estimated from the model's shape and the options before the first step.
/// Bytes per parameter: weights 4 (fp32), 2 (bf16), 4 + 2 (bf16-mixed: the fp32 master and its bf16 copy); gradients
/// 4, 2, and 2 + 4 (the copy's bf16 gradients and the master's fp32 gradients they are summed into); AdamW's
/// two moments 8, 4, 8. DPO adds the frozen reference model (4 or 2). Activations kept for the backward pass, per
/// token of a forward pass: 10·hidden + 3·intermediate values per layer in the compute precision, plus the logits
/// (the compute precision, their fp32 copy and its gradient: vocabulary × (b + 8) bytes); with gradient checkpointing,
/// one hidden state per layer plus one layer's intermediates. With LoRA, the base is frozen
/// (no gradients, no optimiser state) and only the adapters train; each adapter adds its dropped-out input, the dropout
/// mask and its rank-wide intermediate to the activations.
/// </summary>
public sealed record MemoryEstimate(long Weights, long Gradients, long Optimizer, long Reference, long Activations, int TokensPerForward)
{
    public long Total => Weights + Gradients + Optimizer + Reference + Activations;

    public static MemoryEstimate Of(LlamaConfig config, TrainOptions options, string precision, int tokensPerForward)
    {
        var p = config.ParameterCount();
        var (weights, gradients, optimizer, compute) = precision switch
        {
            "bf16" => (2L, 2L, 4L, 2L),
            "bf16-mixed" => (6L, 6L, 8L, 2L),
            _ => (4L, 4L, 8L, 4L),
        };
        var reference = options.Loss.Kind == LossKind.Dpo ? p * (precision == "fp32" ? 4 : 2) : 0;
        var perLayer = ((10L * config.HiddenSize) + (3L * config.IntermediateSize)) * compute;
        var logits = config.VocabSize * (compute + 8);
        // Recomputation keeps each layer's input only, and one layer's intermediates at a time.
        var perToken = options.GradientCheckpointing ? (config.Layers * config.HiddenSize * compute) + perLayer + logits : (config.Layers * perLayer) + logits;
        if (options.Lora is { } lora)
        {
            // Each adapter keeps its (dropped-out) input, the dropout mask, and its rank-wide intermediate.
            var inputs = lora.Targets.Distinct().Sum(t => t == "down_proj" ? (long)config.IntermediateSize : t == "o_proj" ? (long)config.Heads * config.HeadDim : config.HiddenSize);
            perToken += (options.GradientCheckpointing ? 1 : config.Layers) * ((inputs * (compute + (lora.Dropout > 0 ? 1 : 0))) + (lora.Targets.Distinct().Count() * lora.Rank * compute));
            // A frozen base (bf16 unless fp32) and the adapters with their gradients and AdamW state (fp32 unless pure bf16).
            var a = lora.ParameterCount(config);
            var (baseBytes, adapterBytes) = precision == "fp32" ? (4L, 4L) : precision == "bf16" ? (2L, 2L) : (2L, 4L);
            return new MemoryEstimate((p * baseBytes) + (a * adapterBytes), a * adapterBytes, a * 2 * adapterBytes, reference, perToken * tokensPerForward, tokensPerForward);
        }

        return new MemoryEstimate(p * weights, p * gradients, p * optimizer, reference, perToken * tokensPerForward, tokensPerForward);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"about {Gb(Total)} (weights {Gb(Weights)}, gradients {Gb(Gradients)}, AdamW state {Gb(Optimizer)}"
        + $"{(Reference > 0 ? $", DPO reference {Gb(Reference)}" : "")}, activations {Gb(Activations)} at {TokensPerForward:N0} tokens per forward pass)");

    public static string Gb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:0.00} GB");

    /// <summary>
    /// Free memory of the device, in bytes, where it can be read: the GPU's from nvidia-smi (TorchSharp 0.107 has no
    /// memory query), the machine's available memory for the CPU; null when unknown.
    /// </summary>
    public static long? Free(bool cuda)
    {
        if (!cuda)
        {
            var line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal)) : null;
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }

        try
        {
            using var smi = Process.Start(new ProcessStartInfo("nvidia-smi", ["--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", "0"])
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            });
            if (smi is null || !smi.WaitForExit(10_000) || smi.ExitCode != 0)
            {
                return null;
            }

            return long.TryParse(smi.StandardOutput.ReadToEnd().Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var mib) ? mib * 1024 * 1024 : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}

/// <summary>A training run that would not fit in the device's memory, refused before its first step.</summary>
public sealed class TrainingMemoryException(string message) : InvalidOperationException(message);
