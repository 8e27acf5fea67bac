namespace StableAlignment.Benchmarks;

public sealed record PrecisionResult(
    string Precision, string Size, long Parameters, int Steps, int QueriesPerStep, int Threads, double MedianTokensPerSecond, double PeakMemoryMiB,
    double EstimatedMiB = 0, double EstimatedActivationsMiB = 0);

/// <summary>
/// The trainer itself (sa train's code path) in each precision on the CPU: the same model, data and seed, each mode in
/// its own child process so that its peak resident memory is its own. Tokens per second: the median of the steps after
/// the first two, as the trainer reports them in its metrics. Besides the three precisions: fp32 with gradient
/// checkpointing (activations recomputed per layer) and bf16-mixed LoRA (rank 8 on every projection, frozen bf16 base).
/// </summary>
public static class PrecisionBenchmark
{
    public const string ChildArgument = "--precision-child";
    public static readonly string[] Modes = ["fp32", "bf16-mixed", "bf16", "fp32+gradient-checkpointing", "bf16-mixed+lora-r8"];
    public const int Rounds = 3;

    public static async Task<List<PrecisionResult>> RunAsync(string size)
    {
        // Each mode three times, the rounds interleaved so that a slow spell of the machine touches every mode; the
        // medians of the three are reported (peak resident memory varies from run to run with the allocator).
        var runs = new List<PrecisionResult>();
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var mode in Modes)
            {
                runs.Add(await ChildProcess.RunAsync<PrecisionResult>(ChildArgument, mode, size));
            }
        }

        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            return sorted[sorted.Count / 2];
        }

        return [.. Modes.Select(mode => runs.Where(r => r.Precision == mode).ToList()).Select(rs => rs[0] with
        {
            MedianTokensPerSecond = Median(rs.Select(r => r.MedianTokensPerSecond)), PeakMemoryMiB = Median(rs.Select(r => r.PeakMemoryMiB)),
        })];
    }

    public static async Task ChildAsync(string precision, string size, int steps = 6, int accumulation = 8)
    {
        var threads = Environment.ProcessorCount;
        var filler = string.Join(' ', Enumerable.Repeat("A kind and honest answer weighs what is at stake for everyone involved.", 2));
        var data = Enumerable.Range(0, steps * accumulation).Select(i => new RatedGroup(
            $"### Instruction:\nQuestion {i}: is it fine to break a promise?\n\n### Response:",
            [$"{filler} ({i}, kept)", $"Break it whenever it suits you ({i}).", $"It depends on the promise ({i}). {filler}"], [7, 1, 4])).ToList();
        var options = new TrainOptions
        {
            Base = size, Precision = precision.Split('+')[0], LearningRate = 2e-5, Accumulation = accumulation, Epochs = 1, MaxLength = 192, Threads = threads,
            CheckpointEvery = 0, Seed = 1, TokensPerForward = accumulation * 3 * 192, GradientCheckpointing = precision.EndsWith("+gradient-checkpointing", StringComparison.Ordinal),
            Lora = precision.EndsWith("+lora-r8", StringComparison.Ordinal) ? new LoraOptions { Rank = 8 } : null,
        };
        var folder = Path.Combine(Path.GetTempPath(), $"sa-precision-{precision.Replace('+', '-')}-{Guid.NewGuid():N}");
        try
        {
            var trainer = new ModelTrainer(options, new ByteTokenizer());
            var result = await trainer.RunAsync(data, folder, "bench");
            var speeds = result.Metrics.Skip(2).Select(m => m.TokensPerSecond).Order().ToList();
            var config = LlamaConfig.Preset(size);
            Console.WriteLine(JsonSerializer.Serialize(new PrecisionResult(
                precision, size, config.ParameterCount(), result.Steps, accumulation, threads, speeds[speeds.Count / 2], ChildProcess.PeakResidentMiB(),
                trainer.Memory!.Total / 1048576.0, trainer.Memory.Activations / 1048576.0)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public static string Markdown(IReadOnlyList<PrecisionResult> results)
    {
        var first = results[0];
        var fp32 = results.Single(r => r.Precision == "fp32");
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Inputs: the `{first.Size}` model ({first.Parameters:N0} parameters, byte vocabulary), {first.Steps} steps of {first.QueriesPerStep} queries "
                + $"(3 responses each, up to 192 tokens) packed into one forward pass per step, lr 2e-5, {first.Threads} threads; the trainer's own tokens/s, median of the steps after the first two; each mode in its own process, {Rounds} times (rounds interleaved), medians of the {Rounds}.")
            .AppendLine()
            .AppendLine("| mode | tokens/s | vs fp32 | peak resident memory | the trainer's estimate (of which activations) |")
            .AppendLine("|---|---|---|---|---|");
        foreach (var r in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Precision} | {r.MedianTokensPerSecond:F0} | {r.MedianTokensPerSecond / fp32.MedianTokensPerSecond:F2}× | {r.PeakMemoryMiB:F0} MiB | {r.EstimatedMiB:F1} MiB ({r.EstimatedActivationsMiB:F1} MiB) |");
        }

        text.AppendLine()
            .AppendLine("Peak resident memory is the whole process: the .NET runtime and libtorch, the backward pass's transient buffers and "
                + "the allocator's cache as well as what training holds. The estimate is what the trainer checks against the device's free memory "
                + "before the first step; it counts weights, gradients, optimiser state and the activations autograd keeps, and on the CPU it is "
                + "well below the measured peak, so it refuses only runs that certainly cannot fit.");

        return text.ToString();
    }
}
