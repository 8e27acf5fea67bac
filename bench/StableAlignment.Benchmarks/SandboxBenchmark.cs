using StableAlignment.Storage;

namespace StableAlignment.Benchmarks;

public sealed record SandboxResult(
    int Grid, int Rounds, int LatencyMs, int Slots, int Repeats, double MedianPerSecond, double MedianBusyShare,
    double[] PerSecond, double[] BusyShare, int CallsPerRun, double OriginalBound);

/// <summary>
/// A 10×10 world for 2 rounds against the stub server at a fixed latency per call (chat and embeddings) with a
/// limit of calls in flight: interactions per second and the share of the slots kept busy.
/// </summary>
public static class SandboxBenchmark
{
    public static async Task<SandboxResult> RunAsync(int grid, int rounds, int latencyMs, int slots, int repeats)
    {
        await using var stub = await StubModelServer.StartAsync();
        stub.Latency = TimeSpan.FromMilliseconds(latencyMs);
        await using var app = await SingleProcessApp.StartAsync(stub, new Dictionary<string, string?>
        {
            ["Models:MaxConcurrentCalls"] = slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Models:TimeoutSeconds"] = "30",
        });
        var questions = Enumerable.Range(0, grid * grid * rounds).Select(i => $"Benchmark question {i}: when is it right to break a promise?").ToList();
        await Simulations.RunAsync(app, Simulations.Message(2, 1, questions));
        var rates = new List<double>();
        var busy = new List<double>();
        var calls = 0;
        for (var i = 0; i < repeats; i++)
        {
            stub.ResetCounters();
            var embeddingsBefore = stub.EmbeddingRequests;
            var clock = Stopwatch.StartNew();
            var (run, records) = await Simulations.RunAsync(app, Simulations.Message(grid, rounds, questions, seed: i), TimeSpan.FromMinutes(10));
            var wall = clock.Elapsed;
            if (run.Status != RunStatus.Completed || records.Count != grid * grid * rounds)
            {
                throw new InvalidOperationException($"Run ended {run.Status} with {records.Count} records.");
            }

            calls = stub.Requests + stub.EmbeddingRequests - embeddingsBefore;
            rates.Add(records.Count / wall.TotalSeconds);
            busy.Add(stub.BusyTime.TotalSeconds / (slots * wall.TotalSeconds));
            Console.WriteLine($"  sandbox run {i + 1}/{repeats}: {rates[^1]:F1} interactions/s, {busy[^1]:P0} of {slots} slots busy, {calls} calls, max in flight {stub.MaxInFlight}");
        }

        // The original: 10 agents at a time, each call after the other, ~10 calls per interaction.
        var originalBound = 10 / (10 * latencyMs / 1000.0);
        return new SandboxResult(grid, rounds, latencyMs, slots, repeats, Median(rates), Median(busy), [.. rates], [.. busy], calls, originalBound);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
