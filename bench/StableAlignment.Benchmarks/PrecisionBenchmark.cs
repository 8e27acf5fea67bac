using System.Globalization;
using System.Text;
using System.Text.Json;
using StableAlignment.Learning;

namespace StableAlignment.Benchmarks;

public sealed record PrecisionResult(
    string Precision, string Size, long Parameters, int Steps, int QueriesPerStep, int Threads, double MedianTokensPerSecond, double PeakMemoryMiB);

/// <summary>
/// The trainer itself (sa train's code path) in each precision on the CPU: the same model, data and seed, each mode in
/// its own child process so that its peak resident memory is its own. Tokens per second: the median of the steps after
/// the first two, as the trainer reports them in its metrics.
/// </summary>
public static class PrecisionBenchmark
{
    public const string ChildArgument = "--precision-child";
    public static readonly string[] Modes = ["fp32", "bf16-mixed", "bf16"];

    public static async Task<List<PrecisionResult>> RunAsync(string size)
    {
        var results = new List<PrecisionResult>();
        foreach (var mode in Modes)
        {
            results.Add(await ChildProcess.RunAsync<PrecisionResult>(ChildArgument, mode, size));
        }

        return results;
    }

    public static async Task ChildAsync(string precision, string size, int steps = 8, int accumulation = 2)
    {
        var threads = Environment.ProcessorCount;
        var filler = string.Join(' ', Enumerable.Repeat("A kind and honest answer weighs what is at stake for everyone involved.", 2));
        var data = Enumerable.Range(0, steps * accumulation).Select(i => new RatedGroup(
            $"### Instruction:\nQuestion {i}: is it fine to break a promise?\n\n### Response:",
            [$"{filler} ({i}, kept)", $"Break it whenever it suits you ({i}).", $"It depends on the promise ({i}). {filler}"], [7, 1, 4])).ToList();
        var options = new TrainOptions
        {
            Base = size, Precision = precision, LearningRate = 2e-5, Accumulation = accumulation, Epochs = 1, MaxLength = 192, Threads = threads, CheckpointEvery = 0, Seed = 1,
        };
        var folder = Path.Combine(Path.GetTempPath(), $"sa-precision-{precision}-{Guid.NewGuid():N}");
        try
        {
            var result = await new Trainer(options, new ByteTokenizer()).RunAsync(data, folder, "bench");
            var speeds = result.Metrics.Skip(2).Select(m => m.TokensPerSecond).Order().ToList();
            var config = LlamaConfig.Preset(size);
            Console.WriteLine(JsonSerializer.Serialize(new PrecisionResult(
                precision, size, config.ParameterCount(), result.Steps, accumulation, threads, speeds[speeds.Count / 2], ChildProcess.PeakResidentMiB())));
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
                + $"(3 responses each, up to 192 tokens), lr 2e-5, {first.Threads} threads; the trainer's own tokens/s, median of the steps after the first two; each mode in its own process.")
            .AppendLine()
            .AppendLine("| precision | tokens/s | vs fp32 | peak memory |")
            .AppendLine("|---|---|---|---|");
        foreach (var r in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Precision} | {r.MedianTokensPerSecond:F0} | {r.MedianTokensPerSecond / fp32.MedianTokensPerSecond:F2}× | {r.PeakMemoryMiB:F0} MiB |");
        }

        return text.ToString();
    }
}
