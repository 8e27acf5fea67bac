using StableAlignment.Contracts;
using System.Diagnostics;
using System.Text.Json;
using StableAlignment.Primitives;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>A training folder already holds a run whose settings differ from the requested ones.</summary>
public sealed class TrainingFolderConflictException(string folder, IReadOnlyList<(string Field, string Saved, string Requested)> differences)
    : ArgumentException($"{folder} already holds a training run with other settings: "
        + string.Join(", ", differences.Select(d => $"{d.Field} {d.Saved} (requested {d.Requested})"))
        + "; train into another folder, or repeat that run's settings (its config.resolved.yaml) to continue it.")
{
    public IReadOnlyList<(string Field, string Saved, string Requested)> Differences { get; } = differences;
}

public sealed record TrainResult(string OutDir, string LatestCheckpoint, int Steps, IReadOnlyList<StepMetrics> Metrics);

/// <summary>
/// Fine-tunes a causal LM with the Stable Alignment loss (or the SFT baseline) on rated groups: one query per
/// mini-batch with up to <see cref="LossOptions.Comparisons"/> sampled responses, AdamW, warm-up then cosine
/// decay, gradient clipping and accumulation. The data order of epoch e and the responses drawn at each step follow
/// from (seed, epoch, position), so a resumed run replays exactly what the uninterrupted one would have done.
/// </summary>
public sealed class ModelTrainer(TrainOptions options, ITokenizer tokenizer)
{
    public async Task<TrainResult> RunAsync(
        IReadOnlyList<RatedGroup> data,
        string outDir,
        string datasetId,
        IProgress<StepMetrics>? progress = null,
        Func<string, CheckpointState, Task>? onCheckpoint = null,
        CancellationToken ct = default)
    {
        if (data.Count == 0)
        {
            throw new ArgumentException("The dataset holds no group to train on.");
        }

        TorchRuntime.Initialize(options.Threads);
        var device = TorchRuntime.DefaultDevice();
        if (options.Lora is not null && Directory.Exists(options.Base))
        {
            // A LoRA checkpoint names its base, and is loaded later from wherever: by its full path.
            options = options with { Base = Path.GetFullPath(options.Base).TrimEnd('/') };
        }

        var resumeFrom = Directory.Exists(outDir) ? Checkpoints.Latest(outDir) : null;
        var resumed = resumeFrom is null ? null : Checkpoints.ReadState(resumeFrom);
        if (resumed is not null && options.DifferencesFrom(resumed.Options) is { Count: > 0 } differences)
        {
            throw new TrainingFolderConflictException(outDir, differences);
        }

        var config = resumed?.Config ?? BaseConfig();
        Config = config;
        var precision = options.ResolvedPrecision(device.type == DeviceType.CUDA);
        var budget = options.TokensPerForward > 0 ? options.TokensPerForward : device.type == DeviceType.CUDA ? TrainOptions.CudaTokensPerForward : 0;
        Memory = MemoryEstimate.Of(config, options, precision, budget > 0 ? budget : options.Loss.Comparisons * options.MaxLength);
        if (MemoryEstimate.Free(device.type == DeviceType.CUDA) is { } free && Memory.Total > free)
        {
            throw new TrainingMemoryException(NoFit(config, precision, device.type == DeviceType.CUDA, free));
        }

        Directory.CreateDirectory(outDir);

        // The model the optimiser steps (fp32 unless the mode is pure bf16) and, for bf16-mixed, its bf16 working copy.
        // With LoRA the frozen base is loaded again on resume and only the adapters come from the checkpoint.
        var model = resumed is null || options.Lora is not null
            ? StartingModel(config, device, precision, options.Lora)
            : Place(new LlamaForCausalLM(config, options.Seed), device, precision);

        // DPO compares against the starting model, frozen: the same base weights, never trained.
        using var reference = options.Loss.Kind == LossKind.Dpo ? StartingModel(config, device, precision == "fp32" ? "fp32" : "bf16", lora: null) : null;
        List<Parameter> trained = [.. model.parameters().Where(p => p.requires_grad)];
        var optimizer = optim.AdamW(trained, lr: options.LearningRate, weight_decay: options.WeightDecay);
        if (resumeFrom is not null)
        {
            if (options.Lora is null)
            {
                Checkpoints.LoadWeights(model, resumeFrom);
            }
            else
            {
                Lora.LoadAdapter(model, resumeFrom);
            }

            optimizer.load_state_dict(Path.Combine(resumeFrom, "optimizer.bin"));
        }

        using var noise = Lora.UseGenerator(model, device);

        // LoRA's bf16-mixed needs no master copy: the frozen base is bf16 and the trained adapters are fp32 already.
        using var mixed = precision == "bf16-mixed" && options.Lora is null ? new MasterWeights(model, device) : null;
        var forward = mixed?.Working ?? model;
        forward.GradientCheckpointing = options.GradientCheckpointing;

        var stepsPerEpoch = (data.Count + options.Accumulation - 1) / options.Accumulation;
        var total = Math.Min(options.MaxSteps ?? int.MaxValue, stepsPerEpoch * options.Epochs);
        if (options.Loss.Kind == LossKind.FixedMargin && options.Loss.ConstantMargin is null)
        {
            // m̄ over the very draws the method would make (the whole schedule, the step budget included): the ablation
            // changes only the modulation. Kept in the checkpoints' options, and taken from them on resume.
            var constant = resumed?.Options.Loss.ConstantMargin ?? StableAlignmentLoss.MeanModulatedMargin(Draws(data, total, stepsPerEpoch), options.Loss);
            options = options with { Loss = options.Loss with { ConstantMargin = constant } };
        }

        var metricsPath = Path.Combine(outDir, "metrics.jsonl");
        var metrics = ReadMetrics(metricsPath, resumed?.Step ?? 0);
        AtomicFile.WriteAllText(metricsPath, string.Concat(metrics.Select(m => JsonSerializer.Serialize(m) + "\n")));
        var latest = resumeFrom ?? string.Empty;
        var board = new TrainingBoard(outDir);
        model.train();
        forward.train();
        for (var step = resumed?.Step ?? 0; step < total; step++)
        {
            ct.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            var (epoch, first) = (step / stepsPerEpoch, step % stepsPerEpoch * options.Accumulation);
            var order = Order(data.Count, epoch);
            noise?.manual_seed(HashCode(options.Seed, step, -2));
            var micro = Enumerable.Range(first, Math.Min(options.Accumulation, data.Count - first)).ToList();
            if (mixed is null)
            {
                optimizer.zero_grad();
            }
            else
            {
                mixed.ZeroGradients();
            }

            List<StepQuery> queries = [.. micro.Select(position => Encode(data[order[position]], epoch, position)).OfType<StepQuery>()];
            var (loss, sft, diff, tokens) = queries.Count == 0 ? (0, 0, 0, 0) : Accumulate(forward, reference, queries, budget, device, mixed);
            var lr = LearningRate(step, total);
            foreach (var g in optimizer.ParamGroups)
            {
                g.LearningRate = lr;
            }

            // The gradient's norm before clipping (an infinite limit clips nothing but still measures it).
            var gradNorm = nn.utils.clip_grad_norm_(trained, options.ClipNorm > 0 ? options.ClipNorm : double.PositiveInfinity);

            optimizer.step();
            mixed?.CopyBack();
            var m = new StepMetrics(step + 1, total, epoch, loss, sft, diff, lr, tokens / clock.Elapsed.TotalSeconds, tokens, gradNorm);
            board.Write(m);
            metrics.Add(m);
            await File.AppendAllTextAsync(metricsPath, JsonSerializer.Serialize(m) + "\n", ct);
            progress?.Report(m);
            if (options.CheckpointEvery > 0 && ((step + 1) % options.CheckpointEvery == 0 || step + 1 == total))
            {
                var state = new CheckpointState
                {
                    Step = step + 1, TotalSteps = total, Config = config, Options = options, DatasetId = datasetId, WrittenAt = DateTime.UtcNow,
                    Metrics = new() { ["loss"] = loss, ["sft"] = sft, ["diff"] = diff, ["learning_rate"] = lr },
                };
                latest = Checkpoints.Save(outDir, model, optimizer, state, tokenizer);
                if (onCheckpoint is not null)
                {
                    await onCheckpoint(latest, state);
                }
            }
        }

        return new TrainResult(outDir, latest, total, metrics);
    }

    /// <summary>The shape of the model being trained (known once the run has started).</summary>
    public LlamaConfig? Config { get; private set; }

    /// <summary>The memory the run was estimated to need before its first step (<see cref="MemoryEstimate"/>).</summary>
    public MemoryEstimate? Memory { get; private set; }

    /// <summary>One line: the estimate, the device's free memory, and the settings that would fit.</summary>
    private string NoFit(LlamaConfig config, string precision, bool cuda, long free)
    {
        var tokens = Memory!.TokensPerForward;
        var fits = new List<string>();
        foreach (var other in new[] { "bf16-mixed", "bf16" }.Where(p => p != precision))
        {
            if (MemoryEstimate.Of(config, options, other, tokens).Total <= free)
            {
                fits.Add($"--precision {other}");
            }
        }

        var withLora = options with { Lora = new LoraOptions() };
        if (options.Lora is null && MemoryEstimate.Of(config, withLora, precision == "fp32" ? "bf16-mixed" : precision, tokens).Total <= free)
        {
            fits.Add($"--lora-rank {withLora.Lora.Rank}{(precision == "fp32" ? " --precision bf16-mixed" : "")}");
        }

        if (!options.GradientCheckpointing && MemoryEstimate.Of(config, options with { GradientCheckpointing = true }, precision, tokens).Total <= free)
        {
            fits.Add("--gradient-checkpointing");
        }

        for (var smaller = tokens / 2; smaller >= options.MaxLength; smaller /= 2)
        {
            if (MemoryEstimate.Of(config, options, precision, smaller).Total <= free)
            {
                fits.Add($"--tokens-per-forward {smaller}");
                break;
            }
        }

        return $"Training needs {Memory}, but the {(cuda ? "GPU" : "machine")} has {MemoryEstimate.Gb(free)} free; "
            + (fits.Count > 0 ? $"what would fit: {string.Join(", or ", fits)}." : "neither another precision, LoRA nor a smaller --tokens-per-forward fits: use a smaller model or a larger device.");
    }

    private LlamaConfig BaseConfig() =>
        Checkpoints.Latest(options.Base) is { } checkpoint ? Checkpoints.ReadState(checkpoint).Config
        : HuggingFace.IsFolder(options.Base) ? HuggingFace.ReadConfig(options.Base)
        : Directory.Exists(options.Base) ? throw new DirectoryNotFoundException($"{options.Base} is neither a checkpoint nor a Hugging Face model folder (config.json with model.safetensors).")
        : LlamaConfig.Preset(options.Base) with { VocabSize = tokenizer.VocabularySize, MaxPositions = Math.Max(512, options.MaxLength) };

    /// <summary>Warm-up over the first share of steps, then cosine decay to zero.</summary>
    public double LearningRate(int step, int total)
    {
        var warm = Math.Max(1, (int)Math.Round(total * options.WarmupShare));
        if (step < warm)
        {
            return options.LearningRate * (step + 1) / warm;
        }

        var progress = (double)(step - warm) / Math.Max(1, total - warm);
        return options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    private int[] Order(int count, int epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(HashCode(options.Seed, epoch, -1)).Shuffle(order);
        return order;
    }

    /// <summary>
    /// Up to num_comp responses of the group, drawn without replacement from the seed, the epoch and the position. The
    /// SFT baseline makes the same draw and keeps its best: the response the method's SFT term sees.
    /// </summary>
    public static List<int> Draw(RatedGroup group, LossOptions loss, int seed, int epoch, int position)
    {
        var indices = Enumerable.Range(0, group.Responses.Count).ToArray();
        new Random(HashCode(seed, epoch, position)).Shuffle(indices);
        List<int> drawn = [.. indices.Take(Math.Min(loss.Comparisons, indices.Length))];
        return loss.SftOnly ? [drawn[StableAlignmentLoss.Best([.. drawn.Select(k => group.Scores[k])])]] : drawn;
    }

    private List<int> Pick(RatedGroup group, int epoch, int position) => Draw(group, options.Loss, options.Seed, epoch, position);

    /// <summary>The ratings of every draw the run makes (all epochs, every position), for the fixed-margin ablation's m̄.</summary>
    private IEnumerable<IReadOnlyList<int>> Draws(IReadOnlyList<RatedGroup> data, int total, int stepsPerEpoch)
    {
        for (var step = 0; step < total; step++)
        {
            var (epoch, first) = (step / stepsPerEpoch, step % stepsPerEpoch * options.Accumulation);
            var order = Order(data.Count, epoch);
            for (var position = first; position < Math.Min(first + options.Accumulation, data.Count); position++)
            {
                var group = data[order[position]];
                yield return [.. Pick(group, epoch, position).Select(k => group.Scores[k])];
            }
        }
    }

    /// <summary>
    /// Responses that the end cut (<see cref="TrainOptions.Truncation"/> "end", as the original) left without a single
    /// token: they are left out of their query's step (an empty response has no likelihood to compare), and counted.
    /// </summary>
    public int ResponsesCutAway { get; private set; }

    /// <summary>The drawn responses of a group as sequences with their ratings; null when none kept a response token.</summary>
    private StepQuery? Encode(RatedGroup group, int epoch, int position)
    {
        var picked = Pick(group, epoch, position);
        var query = tokenizer.Encode(group.Query);
        var rows = picked.Select(k => (Sequence: SequenceBatch.Sequence(tokenizer, query, group.Responses[k], options.MaxLength, options.AppendEos, options.Truncation == "end"), Score: group.Scores[k]))
            .ToList();
        var kept = rows.Where(r => r.Sequence.ResponseStart < r.Sequence.Tokens.Length).ToList();
        ResponsesCutAway += rows.Count - kept.Count;
        return kept.Count == 0 ? null : new StepQuery([.. kept.Select(r => r.Sequence)], [.. kept.Select(r => r.Score)]);
    }

    /// <summary>The base's weights (a checkpoint, a Hugging Face folder, or the seeded initialisation of a preset) on the device.</summary>
    private LlamaForCausalLM StartingModel(LlamaConfig config, Device device, string precision, LoraOptions? lora)
    {
        var model = new LlamaForCausalLM(config, options.Seed, lora);
        Checkpoints.LoadBase(model, options.Base);
        return Place(model, device, precision);
    }

    /// <summary>
    /// On the device; cast to bf16 only in pure bf16 (bf16-mixed keeps this model fp32 as its master). With LoRA,
    /// bf16-mixed casts the frozen base to bf16 and keeps the trained adapters in fp32.
    /// </summary>
    private static LlamaForCausalLM Place(LlamaForCausalLM model, Device device, string precision)
    {
        model.to(device);
        if (precision == "bf16" || (precision == "bf16-mixed" && model.LoraOptions is not null))
        {
            model.to(ScalarType.BFloat16);
        }

        if (precision == "bf16-mixed" && model.LoraOptions is not null)
        {
            foreach (var (_, adapter) in Lora.Adapters(model))
            {
                adapter.to(ScalarType.Float32);
            }
        }

        return model;
    }

    /// <summary>
    /// Forward and backward passes over one optimiser step's queries; gradients accumulate as the mean over queries.
    /// Returns the mean loss, SFT and contrastive parts, and the tokens seen.
    /// </summary>
    private (double Loss, double Sft, double Diff, long Tokens) Accumulate(
        LlamaForCausalLM model, LlamaForCausalLM? reference, List<StepQuery> queries, int budget, Device device, MasterWeights? mixed)
    {
        using var scope = NewDisposeScope();
        var totals = zeros(3, dtype: ScalarType.Float32, device: device);
        long tokens = 0;
        foreach (var pass in Passes(queries, budget))
        {
            using var passScope = NewDisposeScope();
            using var batch = SequenceBatch.FromSequences([.. pass.SelectMany(q => q.Rows)], tokenizer.PadId, device);
            var (sums, counts) = batch.ResponseNllSums(model);
            var nll = sums / counts;
            Tensor? referenceSums = null;
            if (reference is not null)
            {
                using var _ = no_grad();
                referenceSums = batch.ResponseNllSums(reference).Sums;
            }

            Tensor? passLoss = null;
            var offset = 0;
            foreach (var q in pass)
            {
                var parts = referenceSums is null
                    ? StableAlignmentLoss.Compute(nll.narrow(0, offset, q.Rows.Count), q.Scores, options.Loss)
                    : DpoLoss.Compute(-sums.narrow(0, offset, q.Rows.Count), -referenceSums.narrow(0, offset, q.Rows.Count), nll.narrow(0, offset, q.Rows.Count), q.Scores, options.Loss.Beta);
                offset += q.Rows.Count;
                passLoss = passLoss is null ? parts.Loss : passLoss + parts.Loss;
                totals.add_(stack([parts.Loss, parts.Sft, parts.Diff]).detach().to(ScalarType.Float32));
            }

            (passLoss! / queries.Count).backward();
            mixed?.Accumulate();
            tokens += batch.TokenCount;
        }

        var means = (totals / queries.Count).cpu().data<float>().ToArray();
        return (means[0], means[1], means[2], tokens);
    }

    /// <summary>
    /// Consecutive queries packed into forward passes of at most <paramref name="budget"/> padded tokens (rows × longest
    /// row); 0 puts each query in a pass of its own.
    /// </summary>
    private static IEnumerable<List<StepQuery>> Passes(List<StepQuery> queries, int budget)
    {
        var pass = new List<StepQuery>();
        int rows = 0, longest = 0;
        foreach (var q in queries)
        {
            var qLongest = q.Rows.Max(r => r.Tokens.Length);
            if (pass.Count > 0 && (budget <= 0 || (long)(rows + q.Rows.Count) * Math.Max(longest, qLongest) > budget))
            {
                yield return pass;
                (pass, rows, longest) = ([], 0, 0);
            }

            pass.Add(q);
            rows += q.Rows.Count;
            longest = Math.Max(longest, qLongest);
        }

        if (pass.Count > 0)
        {
            yield return pass;
        }
    }

    private sealed record StepQuery(IReadOnlyList<EncodedSequence> Rows, IReadOnlyList<int> Scores);

    private static int HashCode(int seed, int epoch, int position) =>
        (int)((((uint)seed * 2654435761u) ^ ((uint)epoch * 40503u) ^ ((uint)position * 2246822519u)) & int.MaxValue);

    /// <summary>The metrics up to the resumed step; a last line cut off by a crash is dropped.</summary>
    private static List<StepMetrics> ReadMetrics(string path, int upToStep) =>
        [.. AtomicFile.ReadAppended(path, l => JsonSerializer.Deserialize<StepMetrics>(l)!).Where(m => m.Step <= upToStep)];
}
