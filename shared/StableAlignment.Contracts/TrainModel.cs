namespace StableAlignment.Contracts;

/// <summary>Asks the trainer to fine-tune a base model on a dataset.</summary>
public sealed record TrainModel
{
    public required Guid RunId { get; init; }
    public required string DatasetId { get; init; }
    /// <summary>"tiny", "small" or a folder with a Hugging Face LLaMA-architecture checkpoint.</summary>
    public string BaseModel { get; init; } = "tiny";
    /// <summary>"stable-alignment", "sft", "fixed-margin" or "dpo".</summary>
    public string Loss { get; init; } = "stable-alignment";
    public double Margin { get; init; } = 10;
    public double Ratio { get; init; } = 0.2;
    public int Epochs { get; init; } = 2;
    public double LearningRate { get; init; } = 3e-4;
    public int CheckpointEvery { get; init; } = 50;
    /// <summary>Stop after this many optimiser steps (null: all epochs).</summary>
    public int? MaxSteps { get; init; }
    public int Seed { get; init; }
    /// <summary>DPO's β (loss "dpo").</summary>
    public double Beta { get; init; } = 0.1;
    /// <summary>R, the rating range the margin is scaled by.</summary>
    public double RatingScale { get; init; } = 7;
    /// <summary>Hinge on the largest term instead of the mean.</summary>
    public bool MaxFlow { get; init; }
    /// <summary>Responses drawn per query per step.</summary>
    public int NumComp { get; init; } = 3;
    /// <summary>Queries per optimiser step.</summary>
    public int Accumulation { get; init; } = 8;
    /// <summary>Tokens per sequence.</summary>
    public int MaxLength { get; init; } = 256;
    public double WeightDecay { get; init; }
    /// <summary>Gradient norm clip (0: off).</summary>
    public double Clip { get; init; } = 1;
    /// <summary>Share of steps warming up.</summary>
    public double Warmup { get; init; } = 0.03;
    /// <summary>Pack a step's queries into forward passes of up to this many padded tokens (0: the device's default).</summary>
    public int TokensPerForward { get; init; }
    /// <summary>fp32, bf16-mixed (fp32 master weights, bf16 compute), bf16, or auto (bf16-mixed on CUDA, fp32 on the CPU).</summary>
    public string Precision { get; init; } = "auto";
    /// <summary>LoRA adapters of this rank on a frozen base (0: every weight trains).</summary>
    public int LoraRank { get; init; }
    /// <summary>LoRA's alpha: the adapters' update is scaled by alpha / rank.</summary>
    public double LoraAlpha { get; init; } = 16;
    /// <summary>Dropout on the adapters' input while training.</summary>
    public double LoraDropout { get; init; } = 0.05;
    /// <summary>The projections that get adapters, comma-separated.</summary>
    public string LoraTargets { get; init; } = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj";
    /// <summary>Recompute each decoder layer in the backward pass instead of keeping its activations (same numbers, less memory).</summary>
    public bool GradientCheckpointing { get; init; }

    /// <summary>The loop step this training belongs to, if any; copied onto its CheckpointReady messages.</summary>
    public LoopStep? Loop { get; init; }
}
