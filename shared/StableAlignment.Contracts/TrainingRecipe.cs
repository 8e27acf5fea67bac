using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace StableAlignment.Contracts;

/// <summary>
/// How a model is trained: the one definition of every training setting. <see cref="TrainModel"/> is a recipe plus the
/// run and dataset it applies to, so a message and the trainer's HTTP body carry these properties as they are (flat,
/// under the same camel-case names); <c>sa train</c> makes one command-line option per property from its name and
/// <see cref="DescriptionAttribute"/> (<c>LearningRate</c> → <c>--learning-rate</c>, also the YAML key), and
/// docs/configuration.md documents each once. The defaults here are the only defaults.
/// </summary>
[MassTransit.ExcludeFromTopology]
public record TrainingRecipe
{
    [Description("tiny, small, a Hugging Face model folder (LLaMA, Mistral, Qwen2) or a checkpoint folder; over HTTP and the bus: a name under the trainer's models root")]
    public string BaseModel { get; init; } = "tiny";

    [Description("stable-alignment, sft (the best response's NLL), fixed-margin (no rating modulation) or dpo (against the starting model)")]
    [JsonConverter(typeof(LossKindConverter))]
    public LossKind Loss { get; init; } = LossKind.StableAlignment;

    [Description("M, the margin at the full rating gap")]
    public double Margin { get; init; } = 10;

    [Description("λ, the weight of the contrastive term")]
    public double Ratio { get; init; } = 0.2;

    [Description("R, the rating range the margin is scaled by")]
    public double RatingScale { get; init; } = 7;

    [Description("Hinge on the largest term instead of the mean")]
    public bool MaxFlow { get; init; }

    [Description("Responses drawn per query per step")]
    public int NumComp { get; init; } = 3;

    [Description("DPO's β (loss dpo)")]
    public double Beta { get; init; } = 0.1;

    [Description("Peak learning rate")]
    public double LearningRate { get; init; } = 3e-4;

    [Description("Passes over the data")]
    public int Epochs { get; init; } = 2;

    [Description("Queries per optimiser step")]
    public int Accumulation { get; init; } = 8;

    [Description("Tokens per sequence (prompt and response; longer ones are cut)")]
    public int MaxLength { get; init; } = 256;

    [Description("AdamW weight decay")]
    public double WeightDecay { get; init; }

    [Description("Gradient norm clip (0: off)")]
    public double Clip { get; init; } = 1;

    [Description("Share of steps warming up (then cosine decay)")]
    public double Warmup { get; init; } = 0.03;

    [Description("Seed of the initial weights and the data order: the same seed gives the same loss curve on the CPU")]
    public int Seed { get; init; }

    [Description("Steps between checkpoints; the last step always writes one (0: none, for measurements; a trainer job needs at least 1)")]
    public int CheckpointEvery { get; init; } = 50;

    [Description("Stop after this many optimiser steps (none: all epochs)")]
    public int? MaxSteps { get; init; }

    [Description("Pack a step's queries into forward passes of up to this many padded tokens (0: one query per pass on the CPU, 16384 tokens on CUDA)")]
    public int TokensPerForward { get; init; }

    [Description("fp32, bf16-mixed (fp32 master weights and AdamW state, bf16 forward and backward), bf16 (bf16 weights: small updates round away) or auto (bf16-mixed on CUDA, fp32 on the CPU)")]
    [AllowedValues("auto", "fp32", "bf16-mixed", "bf16")]
    public string Precision { get; init; } = "auto";

    [Description("Follow each response with the end-of-sequence token (false: as the original)")]
    public bool AppendEos { get; init; } = true;

    [Description("Over-long sequences: prompt-head (keep the response, cut the prompt's beginning) or end (keep the first tokens, as the original)")]
    [AllowedValues("prompt-head", "end")]
    public string Truncation { get; init; } = "prompt-head";

    [Description("Train LoRA adapters of this rank on a frozen base instead of every weight (0: full fine-tuning)")]
    public int LoraRank { get; init; }

    [Description("LoRA's alpha: the adapters' update is scaled by alpha / rank")]
    public double LoraAlpha { get; init; } = 16;

    [Description("Dropout on the adapters' input while training")]
    public double LoraDropout { get; init; } = 0.05;

    [Description("The projections that get adapters, comma-separated")]
    public string LoraTargets { get; init; } = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj";

    [Description("Recompute each decoder layer in the backward pass instead of keeping its activations (less memory, about a third more compute; same numbers)")]
    public bool GradientCheckpointing { get; init; }

    /// <summary>
    /// The authors' recipe, from their README and training script: AdamW at lr 2e-5 with a cosine schedule after 3 %
    /// warm-up, weight decay 0, 7 epochs (the released model), 32 queries per optimiser step, sequences of 360 tokens cut
    /// at the end, no end-of-sequence token; the loss at the paper's settings (M = 10, λ = 0.2, R = 7, num_comp 3).
    /// Precision stays as given (bf16-mixed, their trainer's bf16 with fp32 master weights, is the CUDA default).
    /// </summary>
    public static TrainingRecipe Authors { get; } = new()
    {
        LearningRate = 2e-5, Warmup = 0.03, WeightDecay = 0, Epochs = 7, Accumulation = 32, MaxLength = 360, AppendEos = false, Truncation = "end",
        Margin = 10, Ratio = 0.2, RatingScale = 7, NumComp = 3,
    };

    /// <summary>
    /// The offline society's recipe, for its half-million-parameter byte-level agents: lr 5e-4, 4 queries per step,
    /// sequences of 768 tokens (a whole interaction prompt), a checkpoint only at the end of a short run. The miniature
    /// (<c>make run</c>), <c>sa loop</c> and the closed loop on the bus train with it, each with its own epochs and seed.
    /// </summary>
    public static TrainingRecipe Society { get; } = new() { LearningRate = 5e-4, Accumulation = 4, MaxLength = 768, CheckpointEvery = 10_000 };

    /// <summary>The named recipes a run may start from (<c>sa train --preset NAME</c>): every setting not given explicitly comes from it.</summary>
    public static IReadOnlyDictionary<string, TrainingRecipe> Presets { get; } = new Dictionary<string, TrainingRecipe>(StringComparer.Ordinal)
    {
        ["authors"] = Authors, ["society"] = Society,
    };
}
