using static TorchSharp.torch;

namespace StableAlignment.Benchmarks;

public sealed record TrainerResult(
    string Size, long Parameters, int Batch, int Length, int Threads, double MedianStepSeconds, double TokensPerSecond,
    double ModelGflops, double PeakGflops, double Utilisation, double PeakMemoryMiB);

/// <summary>
/// Training-step speed of the LLaMA-style model at batch 8 × 256 tokens, against this machine's fp32 matrix-product
/// peak measured by the same libtorch in the same process. Each size runs in its own child process so that its
/// peak resident memory is its own. Model FLOPs per token: 6·parameters + 12·layers·length·width (forward and backward).
/// </summary>
public static class TrainerBenchmark
{
    public const string ChildArgument = "--trainer-child";

    public static Task<TrainerResult> RunAsync(string size) => ChildProcess.RunAsync<TrainerResult>(ChildArgument, size);

    public static void Child(string size, int batch = 8, int length = 256, int steps = 6)
    {
        var threads = Environment.ProcessorCount;
        TorchRuntime.Initialize(threads);
        var peak = MatmulGflops(2048);
        random.manual_seed(0);
        var config = LlamaConfig.Preset(size);
        var model = new LlamaForCausalLM(config);
        var optimizer = optim.AdamW(model.parameters(), lr: 1e-4);
        var tokens = randint(0, config.VocabSize, [batch, length + 1], dtype: ScalarType.Int64);
        var times = new List<double>();
        for (var i = 0; i < steps + 2; i++)
        {
            var clock = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                optimizer.zero_grad();
                var logits = model.forward(tokens[TensorIndex.Colon, TensorIndex.Slice(0, -1)]);
                var loss = nn.functional.cross_entropy(logits.reshape(-1, config.VocabSize), tokens[TensorIndex.Colon, TensorIndex.Slice(1)].reshape(-1));
                loss.backward();
                optimizer.step();
            }

            if (i >= 2)
            {
                times.Add(clock.Elapsed.TotalSeconds);
            }

            Console.Error.WriteLine($"  {size} step {i + 1}: {clock.Elapsed.TotalSeconds:F3} s");
        }

        var median = times.Order().ElementAt(times.Count / 2);
        var tokensPerStep = batch * length;
        var flopsPerToken = (6.0 * config.ParameterCount()) + (12.0 * config.Layers * length * config.HiddenSize);
        var modelGflops = flopsPerToken * tokensPerStep / median / 1e9;
        Console.WriteLine(JsonSerializer.Serialize(new TrainerResult(size, config.ParameterCount(), batch, length, threads, median, tokensPerStep / median,
            modelGflops, peak, modelGflops / peak, ChildProcess.PeakResidentMiB())));
    }

    /// <summary>fp32 n×n matrix products through libtorch: the median of five, in GFLOP/s.</summary>
    public static double MatmulGflops(int n)
    {
        using var a = randn(n, n);
        using var b = randn(n, n);
        using (var warm = a.matmul(b))
        {
        }

        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using var c = a.matmul(b);
            _ = c[0, 0].item<float>();
            times.Add(clock.Elapsed.TotalSeconds);
        }

        return 2.0 * n * n * n / times.Order().ElementAt(2) / 1e9;
    }

}
