using StableAlignment.Contracts;

namespace StableAlignment.Learning;

/// <summary>Settings of a training run (the paper's where they apply to a model trained from its own base).</summary>
public sealed record TrainOptions
{
    /// <summary>The defaults, which are <see cref="TrainingRecipe"/>'s: one definition of each.</summary>
    private static readonly TrainingRecipe Recipe = new();

    /// <summary>"tiny", "small", or a checkpoint folder of ours to continue from.</summary>
    public string Base { get; init; } = Recipe.BaseModel;

    public LossOptions Loss { get; init; } = new();

    /// <summary>
    /// The prompt the training data were written in, with <c>{question}</c> where the question goes (null: the short
    /// Alpaca form of dataset-builder's data). Kept in every checkpoint so that generation prompts the model the way it
    /// was trained.
    /// </summary>
    public string? PromptTemplate { get; init; }

    public double LearningRate { get; init; } = Recipe.LearningRate;

    public double WarmupShare { get; init; } = Recipe.Warmup;

    public double WeightDecay { get; init; }

    public double ClipNorm { get; init; } = Recipe.Clip;

    /// <summary>Queries per optimiser step (gradient accumulation); each query is one mini-batch of its responses.</summary>
    public int Accumulation { get; init; } = Recipe.Accumulation;

    public int Epochs { get; init; } = Recipe.Epochs;

    public int MaxLength { get; init; } = Recipe.MaxLength;

    public int Seed { get; init; }

    /// <summary>Steps between checkpoints (the last step always writes one); 0 writes none, for throughput measurements.</summary>
    public int CheckpointEvery { get; init; } = Recipe.CheckpointEvery;

    /// <summary>Stop after this many optimiser steps (null: all epochs).</summary>
    public int? MaxSteps { get; init; }

    public int Threads { get; init; }

    /// <summary>
    /// Padded tokens per forward pass: the queries of an optimiser step are packed into as few forward passes as this
    /// allows (at least one query each), each query's loss still computed on its own responses. 0: one query per pass
    /// on the CPU (where bigger batches gain little) and <see cref="CudaTokensPerForward"/> on CUDA, where one query's
    /// few sequences would leave the GPU mostly idle.
    /// </summary>
    public int TokensPerForward { get; init; }

    public const int CudaTokensPerForward = 16384;

    /// <summary>Follow every response with the end-of-sequence token, so that a model learns to stop (the original does not).</summary>
    public bool AppendEos { get; init; } = Recipe.AppendEos;

    /// <summary>
    /// How a sequence longer than <see cref="MaxLength"/> is cut: "prompt-head" keeps the response (up to the whole
    /// length) and cuts the prompt's beginning; "end" keeps the first tokens of prompt + response, as the original does,
    /// so the response is cut first (a response left with no token is skipped and counted).
    /// </summary>
    public string Truncation { get; init; } = Recipe.Truncation;

    public static readonly string[] Truncations = ["prompt-head", "end"];

    /// <summary>
    /// Recompute each decoder layer's activations in the backward pass instead of keeping them: activation memory falls
    /// to about one hidden state per layer and token, for roughly a third more compute. The numbers are those of a run
    /// without it.
    /// </summary>
    public bool GradientCheckpointing { get; init; }

    /// <summary>Train LoRA adapters on a frozen base instead of every weight (null: full fine-tuning).</summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>
    /// The options a recipe trains with: the one mapping from <see cref="TrainingRecipe"/> (the command line's, a
    /// message's or an HTTP body's) to what the trainer runs and records in each checkpoint. The base comes
    /// resolved (a base name under the service's root becomes its folder); threads are the process's.
    /// </summary>
    public static TrainOptions From(TrainingRecipe r, string baseModel, int threads) => new()
    {
        Base = baseModel, Epochs = r.Epochs, LearningRate = r.LearningRate, CheckpointEvery = r.CheckpointEvery, MaxSteps = r.MaxSteps,
        Seed = r.Seed, Threads = threads, Accumulation = r.Accumulation, MaxLength = r.MaxLength, WeightDecay = r.WeightDecay,
        ClipNorm = r.Clip, WarmupShare = r.Warmup, TokensPerForward = r.TokensPerForward, Precision = r.Precision, GradientCheckpointing = r.GradientCheckpointing,
        AppendEos = r.AppendEos, Truncation = r.Truncation,
        Lora = r.LoraRank == 0 ? null : new LoraOptions
        {
            Rank = r.LoraRank, Alpha = r.LoraAlpha, Dropout = r.LoraDropout,
            Targets = [.. (r.LoraTargets ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
        },
        Loss = new LossOptions { Kind = r.Loss, Margin = r.Margin, Ratio = r.Ratio, Beta = r.Beta, RatingScale = r.RatingScale, MaxFlow = r.MaxFlow, Comparisons = r.NumComp },
    };

    /// <summary>
    /// The options a recipe trains with, or the first setting that cannot train as "field: reason": the one place where
    /// a recipe's settings are checked, for the command line, the trainer's API and its consumer alike.
    /// </summary>
    public static (TrainOptions? Options, string? Problem) Check(TrainingRecipe r, string baseModel, int threads)
    {
        var options = From(r, baseModel, threads);
        return options.Problem() is { } problem ? (null, problem) : (options, null);
    }

    /// <summary>The first setting that cannot train, as "field: reason", or null when all can.</summary>
    public string? Problem()
    {
        static bool Finite(double v) => double.IsFinite(v);
        return (LearningRate, Epochs, Accumulation, MaxLength, CheckpointEvery, MaxSteps, TokensPerForward, Loss) switch
        {
            var (lr, _, _, _, _, _, _, _) when !Finite(lr) || lr <= 0 || lr > 1 => $"learningRate: {lr} is not in (0, 1]",
            var (_, e, _, _, _, _, _, _) when e is < 1 or > 10_000 => $"epochs: {e} is not in 1–10000",
            var (_, _, a, _, _, _, _, _) when a is < 1 or > 100_000 => $"accumulation: {a} is not in 1–100000",
            var (_, _, _, m, _, _, _, _) when m is < 8 or > 1_000_000 => $"maxLength: {m} is not in 8–1000000",
            var (_, _, _, _, c, _, _, _) when c < 0 => $"checkpointEvery: {c} is negative",
            var (_, _, _, _, _, s, _, _) when s is < 1 => $"maxSteps: {s} is below 1",
            var (_, _, _, _, _, _, t, _) when t < 0 => $"tokensPerForward: {t} is negative",
            var (_, _, _, _, _, _, _, l) when !Finite(l.Margin) || l.Margin < 0 => $"margin: {l.Margin} is not a finite number ≥ 0",
            var (_, _, _, _, _, _, _, l) when !Finite(l.Ratio) || l.Ratio < 0 => $"ratio: {l.Ratio} is not a finite number ≥ 0",
            var (_, _, _, _, _, _, _, l) when !Finite(l.RatingScale) || l.RatingScale <= 0 => $"ratingScale: {l.RatingScale} is not a positive number",
            var (_, _, _, _, _, _, _, l) when l.Comparisons < 1 => $"numComp: {l.Comparisons} is below 1",
            var (_, _, _, _, _, _, _, l) when !Finite(l.Beta) || l.Beta <= 0 => $"beta: {l.Beta} is not a positive number",
            _ when !Truncations.Contains(Truncation) => $"truncation: '{Truncation}' is not one of {string.Join(", ", Truncations)}",
            _ when !Precisions.Contains(Precision) => $"precision: '{Precision}' is not one of {string.Join(", ", Precisions)}",
            _ when Lora?.Problem() is { } lora => lora,
            _ => null,
        };
    }

    /// <summary>
    /// The settings in which this request differs from <paramref name="saved"/>, the options of the run a folder already
    /// holds, as (field, the folder's value, the requested value). Continuing that run with any of them changed would
    /// mix two trainings in one folder. Threads, the step budget (maxSteps), the checkpoint interval and the packing
    /// budget may change: they decide how far and how fast the same training goes, not what it computes.
    /// </summary>
    public IReadOnlyList<(string Field, string Saved, string Requested)> DifferencesFrom(TrainOptions saved)
    {
        static string Text(object? v) => v switch
        {
            null => "none",
            double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            _ => v.ToString() ?? "",
        };
        (string, object?, object?)[] fields =
        [
            ("baseModel", BaseKey(saved.Base), BaseKey(Base)), ("loss", saved.Loss.Kind, Loss.Kind), ("margin", saved.Loss.Margin, Loss.Margin),
            ("ratio", saved.Loss.Ratio, Loss.Ratio), ("ratingScale", saved.Loss.RatingScale, Loss.RatingScale),
            ("maxFlow", saved.Loss.MaxFlow, Loss.MaxFlow), ("numComp", saved.Loss.Comparisons, Loss.Comparisons), ("beta", saved.Loss.Beta, Loss.Beta),
            ("promptTemplate", saved.PromptTemplate, PromptTemplate), ("learningRate", saved.LearningRate, LearningRate),
            ("warmup", saved.WarmupShare, WarmupShare), ("weightDecay", saved.WeightDecay, WeightDecay), ("clip", saved.ClipNorm, ClipNorm),
            ("accumulation", saved.Accumulation, Accumulation), ("epochs", saved.Epochs, Epochs), ("maxLength", saved.MaxLength, MaxLength),
            ("seed", saved.Seed, Seed), ("precision", saved.Precision, Precision), ("appendEos", saved.AppendEos, AppendEos),
            ("truncation", saved.Truncation, Truncation), ("loraRank", saved.Lora?.Rank, Lora?.Rank), ("loraAlpha", saved.Lora?.Alpha, Lora?.Alpha),
            ("loraDropout", saved.Lora?.Dropout, Lora?.Dropout), ("loraTargets", saved.Lora?.TargetList, Lora?.TargetList),
        ];
        return [.. fields.Where(f => !Equals(f.Item2, f.Item3)).Select(f => (f.Item1, Text(f.Item2), Text(f.Item3)))];
    }

    /// <summary>A base folder by its full path (a resolved config names it absolutely), a preset by its name.</summary>
    private static string BaseKey(string name) => Directory.Exists(name) ? Path.GetFullPath(name).TrimEnd('/') : name;

    /// <summary>
    /// How weights are kept and computed (<see cref="Precisions"/>):
    /// <list type="bullet">
    /// <item>"fp32": fp32 weights, gradients and AdamW state.</item>
    /// <item>"bf16-mixed": fp32 master weights and AdamW state; forward and backward in a bf16 copy; gradients accumulated
    /// in fp32 over the step's passes; the master copied back to bf16 after each step (what autocast with fp32 master
    /// weights gives in PyTorch; TorchSharp 0.107 has no autocast).</item>
    /// <item>"bf16": bf16 weights updated in place. bf16 keeps 8 significant bits, so an update below |w|·2⁻⁸ rounds
    /// away: at a fine-tuning learning rate most pretrained weights never move.</item>
    /// <item>"auto": bf16-mixed on CUDA, fp32 on the CPU.</item>
    /// </list>
    /// The loss is computed in fp32 in every mode.
    /// </summary>
    public string Precision { get; init; } = Recipe.Precision;

    public static readonly string[] Precisions = ["auto", "fp32", "bf16-mixed", "bf16"];

    /// <summary>The mode <see cref="Precision"/> means on a device of this type.</summary>
    public string ResolvedPrecision(bool cuda) => Precision == "auto" ? (cuda ? "bf16-mixed" : "fp32") : Precision;

    /// <summary>Settings that train but probably not as meant, each as one line.</summary>
    public IEnumerable<string> Warnings()
    {
        if (Precision == "bf16" && LearningRate < 1e-4)
        {
            yield return $"precision bf16 with learning rate {LearningRate:g3}: bf16 weights keep 8 significant bits, so updates below |w|/256 "
                + "round away and most weights will not move; bf16-mixed keeps fp32 master weights.";
        }
    }
}

/// <summary>One optimiser step's numbers, as written to metrics.jsonl.</summary>
public sealed record StepMetrics(int Step, int TotalSteps, int Epoch, double Loss, double Sft, double Diff, double LearningRate, double TokensPerSecond, long Tokens, double GradNorm = 0);
