using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using StableAlignment.Learning;
using static TorchSharp.torch;

namespace StableAlignment.Cli;

public sealed record TrainArguments(
    string Data, string Base, DirectoryInfo Out, string Loss, double Margin, double Ratio, double RatingScale, bool MaxFlow, int Comparisons,
    double LearningRate, int Epochs, int Accumulation, int MaxLength, double WeightDecay, double ClipNorm, double Warmup, int Seed,
    int CheckpointEvery, int? MaxSteps, int Threads, int TokensPerForward = 0, double Beta = 0.1, string Precision = "auto", bool AppendEos = true,
    string Truncation = "prompt-head", LoraOptions? Lora = null, bool GradientCheckpointing = false);

/// <summary><c>sa train</c> and <c>sa loss</c>.</summary>
public static class TrainCommands
{
    public static async Task<int> TrainAsync(TrainArguments a, CancellationToken ct)
    {
        if (!LossKinds.TryParse(a.Loss, out var kind))
        {
            Console.Error.WriteLine($"--loss must be one of {LossKinds.All}, not '{a.Loss}'.");
            return 2;
        }

        List<RatedGroup> data;
        try
        {
            data = TrainingData.Load(a.Data, allowUnrated: kind == LossKind.Sft);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or JsonException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        if (!Directory.Exists(a.Base) && a.Base is not ("tiny" or "small"))
        {
            Console.Error.WriteLine($"--base must be tiny, small, a Hugging Face model folder (LLaMA, Mistral, Qwen2) or a checkpoint folder; '{a.Base}' is none of them.");
            return 2;
        }

        var options = new TrainOptions
        {
            Base = a.Base, LearningRate = a.LearningRate, Epochs = a.Epochs, Accumulation = a.Accumulation, MaxLength = a.MaxLength,
            WeightDecay = a.WeightDecay, ClipNorm = a.ClipNorm, WarmupShare = a.Warmup, Seed = a.Seed, CheckpointEvery = a.CheckpointEvery,
            MaxSteps = a.MaxSteps, Threads = a.Threads, TokensPerForward = a.TokensPerForward, Precision = a.Precision,
            AppendEos = a.AppendEos, Truncation = a.Truncation, Lora = a.Lora, GradientCheckpointing = a.GradientCheckpointing,
            Loss = new LossOptions
            {
                Margin = a.Margin, Ratio = a.Ratio, RatingScale = a.RatingScale, MaxFlow = a.MaxFlow, Comparisons = a.Comparisons, Kind = kind, Beta = a.Beta,
            },
        };
        if (options.Problem() is { } problem)
        {
            Console.Error.WriteLine($"--{problem}");
            return 2;
        }

        foreach (var warning in options.Warnings())
        {
            Console.Error.WriteLine($"warning: {warning}");
        }

        var datasetId = Path.GetFileName(Path.GetFullPath(a.Data).TrimEnd('/'));
        TrainResult? result = null;
        ModelTrainer trainer;
        try
        {
            trainer = new ModelTrainer(options, Checkpoints.TokenizerFor(a.Base));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        try
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask($"training ({a.Loss})", maxValue: 1);
                    var reporter = new Progress<StepMetrics>(m =>
                    {
                        task.MaxValue = m.TotalSteps;
                        task.Value = m.Step;
                        task.Description = $"step {m.Step}/{m.TotalSteps} loss {m.Loss:F3} ({m.TokensPerSecond:F0} tok/s)";
                    });
                    result = await trainer.RunAsync(data, a.Out.FullName, datasetId, reporter, ct: ct);
                });
        }
        catch (TrainingMemoryException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (TrainingFolderConflictException e)
        {
            // Continuing another run's folder with other settings would mix two trainings (and claim the new settings).
            Console.Error.WriteLine($"error: {a.Out.FullName} already holds a training run with other settings: "
                + string.Join(", ", e.Differences.Select(d => $"{OptionName(d.Field)} {d.Requested} (that run: {d.Saved})"))
                + "; use another --out, or repeat that run's options (--config its config.resolved.yaml) to continue it.");
            return 2;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            // A base that cannot be loaded (unsupported architecture, missing or misnamed tensors, broken tokenizer.json).
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        if (trainer.ResponsesCutAway > 0)
        {
            Console.Error.WriteLine($"warning: {trainer.ResponsesCutAway} drawn responses lost every token to the end cut (prompt longer than --max-length {a.MaxLength}) and were left out of their steps.");
        }

        if (trainer.Memory is { } memory)
        {
            Console.WriteLine($"memory: estimated {memory}");
        }

        if (options.Lora is { } lora && trainer.Config is { } config)
        {
            Console.WriteLine($"{Lora.Describe(lora, config)}; the checkpoints hold the adapters (sa export writes the merged model, --adapter a PEFT folder)");
        }

        var plot = MetricsPlot.Write(result!.Metrics, Path.Combine(a.Out.FullName, "metrics.png"), $"{a.Loss} on {datasetId}");
        Console.WriteLine($"{result.Steps} steps; checkpoint {(result.LatestCheckpoint.Length > 0 ? result.LatestCheckpoint : "none (--checkpoint-every 0)")}; metrics {Path.Combine(a.Out.FullName, "metrics.jsonl")}; plot {plot}");
        return 0;
    }

    /// <summary>The command-line option of a training setting.</summary>
    private static string OptionName(string field) => field switch
    {
        "learningRate" => "--lr",
        "ratingScale" => "--rating-scale",
        "maxFlow" => "--max-flow",
        "numComp" => "--num-comp",
        "weightDecay" => "--weight-decay",
        "maxLength" => "--max-length",
        "promptTemplate" => "the prompt template",
        "loraRank" => "--lora-rank",
        "loraAlpha" => "--lora-alpha",
        "loraDropout" => "--lora-dropout",
        "loraTargets" => "--lora-targets",
        _ => "--" + field,
    };

    /// <summary>
    /// The loss of every group of a data file under a model (all responses, fp32, length-normalised NLLs with the
    /// prompt masked), one JSON line per group: a reference other implementations can be checked against.
    /// </summary>
    public static int ModelLoss(string modelFolder, string dataPath, LossOptions options, int maxLength)
    {
        List<RatedGroup> data;
        LlamaForCausalLM model;
        try
        {
            data = TrainingData.Load(dataPath);
            model = Checkpoints.LoadModel(modelFolder);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or NotSupportedException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        var tokenizer = Checkpoints.TokenizerFor(modelFolder);
        model.eval();
        using var _ = no_grad();
        foreach (var group in data)
        {
            using var scope = NewDisposeScope();
            using var batch = SequenceBatch.Encode(tokenizer, group.Query, group.Responses, maxLength, CPU);
            var nll = batch.ResponseNll(model);
            var parts = StableAlignmentLoss.Compute(nll, group.Scores, options);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                query = group.Query, scores = group.Scores, nll = nll.data<float>().ToArray(),
                loss = parts.Loss.item<float>(), sft = parts.Sft.item<float>(), diff = parts.Diff.item<float>(),
            }));
        }

        return 0;
    }

    public static int Usage(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }

    public static int Loss(string nll, string ratings, double margin, double ratio, double scale, bool maxFlow)
    {
        double[] values;
        int[] scores;
        try
        {
            values = [.. nll.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture))];
            scores = [.. ratings.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            Console.Error.WriteLine("--nll takes numbers and --ratings integers, comma-separated (e.g. --nll 2.0,1.5 --ratings 3,7).");
            return 2;
        }

        if (values.Any(v => !double.IsFinite(v)) || !double.IsFinite(scale) || scale <= 0 || !double.IsFinite(margin) || !double.IsFinite(ratio))
        {
            Console.Error.WriteLine("--nll values, --margin and --ratio must be finite numbers and --rating-scale positive.");
            return 2;
        }

        if (values.Length != scores.Length || values.Length == 0)
        {
            Console.Error.WriteLine($"{values.Length} NLL values for {scores.Length} ratings.");
            return 2;
        }

        TorchRuntime.Initialize(1);
        var parts = StableAlignmentLoss.Compute(tensor(values, dtype: ScalarType.Float64), scores,
            new LossOptions { Margin = margin, Ratio = ratio, RatingScale = scale, MaxFlow = maxFlow });
        Console.WriteLine(JsonSerializer.Serialize(new { loss = parts.Loss.item<double>(), sft = parts.Sft.item<double>(), diff = parts.Diff.item<double>() }));
        return 0;
    }
}
