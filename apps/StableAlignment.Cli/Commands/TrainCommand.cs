using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using StableAlignment.Contracts;
using StableAlignment.Learning;

namespace StableAlignment.Cli;

/// <summary>
/// <c>sa train</c>: fine-tunes a model with the Stable Alignment loss (or a baseline), resuming from the folder's latest
/// checkpoint. Its recipe options are made from <see cref="TrainingRecipe"/>, the definition the trainer service's
/// messages and HTTP body use too.
/// </summary>
public static class TrainCommand
{
    /// <summary>Older names of recipe options, kept working.</summary>
    private static readonly Dictionary<string, string> Aliases = new() { [nameof(TrainingRecipe.BaseModel)] = "--base", [nameof(TrainingRecipe.LearningRate)] = "--lr" };

    public static Command Create(CliOptions cli)
    {
        var data = new Option<string>("--data") { Description = "dataset-builder's authors JSON or alpaca JSON Lines (or a dataset folder)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Training folder: checkpoints, metrics.jsonl, metrics.png", Required = true };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0: all cores)", DefaultValueFactory = _ => 0 };
        var preset = new Option<string?>("--preset")
        {
            Description = "authors: the authors' recipe (lr 2e-5, 7 epochs, 32 queries per step, max length 360 cut at the end, no EOS, cosine with 3 % warm-up, weight decay 0); options given explicitly win",
        };
        var recipe = new RecordOptions<TrainingRecipe>(Aliases);
        var command = new Command("train", "Fine-tune a model with the Stable Alignment loss (or a baseline: sft, fixed-margin, dpo); resumes from the folder's latest checkpoint")
        {
            data, output, threads, preset,
        };
        foreach (var option in recipe.Options)
        {
            command.Options.Add(option);
        }

        command.SetAction((p, ct) =>
        {
            // A preset supplies the values of the options not given explicitly (on the command line or in --config).
            var name = p.GetValue(preset);
            if (name is not null && !TrainingRecipe.Presets.ContainsKey(name))
            {
                Console.Error.WriteLine($"--preset must be {string.Join(" or ", TrainingRecipe.Presets.Keys)}, not '{name}'.");
                return Task.FromResult(2);
            }

            return TrainAsync(p.GetValue(data)!, p.GetValue(output)!, recipe.Bind(p, name is null ? null : TrainingRecipe.Presets[name]), p.GetValue(threads), ct);
        });
        return CliOptions.Example(command, "sa train --data out/dataset --base-model tiny --epochs 2 --out out/train   (or --config examples/train.yaml)");
    }

    public static async Task<int> TrainAsync(string dataPath, DirectoryInfo output, TrainingRecipe recipe, int threads, CancellationToken ct)
    {
        try
        {
            var (data, options) = Prepare(dataPath, recipe, threads);
            var datasetId = Path.GetFileName(Path.GetFullPath(dataPath).TrimEnd('/'));
            var trainer = Refusing(() => new ModelTrainer(options, Checkpoints.TokenizerFor(recipe.BaseModel)));
            var result = await RunAsync(trainer, data, output, datasetId, recipe, ct);
            Report(trainer, options, result, output, recipe, datasetId);
            return 0;
        }
        catch (RefusedException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    /// <summary>Bad input, with the line that says what is wrong: the command ends with exit code 2.</summary>
    private sealed class RefusedException(string message) : Exception(message);

    /// <summary>A base that cannot be loaded (unsupported architecture, missing or misnamed tensors, broken tokenizer.json) is refused with its reader's message.</summary>
    private static T Refusing<T>(Func<T> load)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            throw new RefusedException(e.Message);
        }
    }

    /// <summary>The data and the options the recipe trains with, or a refusal naming the option or file at fault.</summary>
    private static (List<RatedGroup> Data, TrainOptions Options) Prepare(string dataPath, TrainingRecipe recipe, int threads)
    {
        var (checkedOptions, problem) = TrainOptions.Check(recipe, recipe.BaseModel, threads);
        if (checkedOptions is not { } options)
        {
            var colon = problem!.IndexOf(':', StringComparison.Ordinal);
            throw new RefusedException($"{OptionName(problem[..colon])}{problem[colon..]}");
        }

        List<RatedGroup> data;
        try
        {
            data = TrainingData.Load(dataPath, allowUnrated: options.Loss.Kind == LossKind.Sft);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or JsonException)
        {
            throw new RefusedException(e.Message);
        }

        if (!Directory.Exists(recipe.BaseModel) && recipe.BaseModel is not ("tiny" or "small"))
        {
            throw new RefusedException($"--base-model must be tiny, small, a Hugging Face model folder (LLaMA, Mistral, Qwen2) or a checkpoint folder; '{recipe.BaseModel}' is none of them.");
        }

        foreach (var warning in options.Warnings())
        {
            Console.Error.WriteLine($"warning: {warning}");
        }

        return (data, options);
    }

    /// <summary>Trains with a progress bar (step, loss, tokens per second).</summary>
    private static async Task<TrainResult> RunAsync(ModelTrainer trainer, List<RatedGroup> data, DirectoryInfo output, string datasetId, TrainingRecipe recipe, CancellationToken ct)
    {
        TrainResult? result = null;
        try
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask($"training ({WireEnum<LossKind>.Name(recipe.Loss)})", maxValue: 1);
                    var reporter = new Progress<StepMetrics>(m =>
                    {
                        task.MaxValue = m.TotalSteps;
                        task.Value = m.Step;
                        task.Description = $"step {m.Step}/{m.TotalSteps} loss {m.Loss:F3} ({m.TokensPerSecond:F0} tok/s)";
                    });
                    result = await trainer.RunAsync(data, output.FullName, datasetId, reporter, ct: ct);
                });
        }
        catch (TrainingMemoryException e)
        {
            throw new RefusedException($"error: {e.Message}");
        }
        catch (TrainingFolderConflictException e)
        {
            // Continuing another run's folder with other settings would mix two trainings (and claim the new settings).
            throw new RefusedException($"error: {output.FullName} already holds a training run with other settings: "
                + string.Join(", ", e.Differences.Select(d => $"{OptionName(d.Field)} {d.Requested} (that run: {d.Saved})"))
                + "; use another --out, or repeat that run's options (--config its config.resolved.yaml) to continue it.");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            throw new RefusedException(e.Message);
        }

        return result!;
    }

    /// <summary>What a user should know after training: responses cut away, the memory estimate, the adapters, where the results are.</summary>
    private static void Report(ModelTrainer trainer, TrainOptions options, TrainResult result, DirectoryInfo output, TrainingRecipe recipe, string datasetId)
    {
        if (trainer.ResponsesCutAway > 0)
        {
            Console.Error.WriteLine($"warning: {trainer.ResponsesCutAway} drawn responses lost every token to the end cut (prompt longer than --max-length {recipe.MaxLength}) and were left out of their steps.");
        }

        if (trainer.Memory is { } memory)
        {
            Console.WriteLine($"memory: estimated {memory}");
        }

        if (options.Lora is { } lora && trainer.Config is { } config)
        {
            Console.WriteLine($"{Lora.Describe(lora, config)}; the checkpoints hold the adapters (sa export writes the merged model, --adapter a PEFT folder)");
        }

        var plot = MetricsPlot.Write(result.Metrics, Path.Combine(output.FullName, "metrics.png"), $"{WireEnum<LossKind>.Name(recipe.Loss)} on {datasetId}");
        Console.WriteLine($"{result.Steps} steps; checkpoint {(result.LatestCheckpoint.Length > 0 ? result.LatestCheckpoint : "none (--checkpoint-every 0)")}; metrics {Path.Combine(output.FullName, "metrics.jsonl")}; plot {plot}");
    }

    /// <summary>The command-line option of a training setting, by its field name in problems and conflicts (the recipe's property, camel case).</summary>
    private static string OptionName(string field) => field == "promptTemplate" ? "the prompt template" : RecordOptions.OptionName(field);
}
