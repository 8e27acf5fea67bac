using StableAlignment.Evaluator;

namespace StableAlignment.Benchmarks;

public sealed record EvaluatorResult(string Size, int Threads, int Sequences, double SequencesPerSecond, int NewTokens, double CachedTokensPerSecond, double UncachedTokensPerSecond, double Speedup);

/// <summary>
/// Likelihood scoring (two ~256-token options per item, the multiple-choice path) in sequences per second, and
/// generation of 256 new tokens with and without the key/value cache, for the small model, in a child process.
/// </summary>
public static class EvaluatorBenchmark
{
    public const string ChildArgument = "--evaluator-child";

    public static Task<EvaluatorResult> RunAsync(string size) => ChildProcess.RunAsync<EvaluatorResult>(ChildArgument, size);

    public static void Child(string size)
    {
        var threads = Environment.ProcessorCount;
        TorchRuntime.Initialize(threads);
        var model = new LlamaForCausalLM(LlamaConfig.Preset(size), seed: 1);
        var tokenizer = new ByteTokenizer();
        var prompt = string.Concat(Enumerable.Repeat("Is it right to keep a promise that hurts someone? ", 3));
        var option = string.Concat(Enumerable.Repeat("Keeping promises matters, but not at the cost of real harm. ", 3));
        Likelihood.Nll(model, tokenizer, prompt, [option, option + " Think again."], 256);
        const int items = 16;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < items; i++)
        {
            Likelihood.Nll(model, tokenizer, prompt, [option + i, option + " Or not." + i], 256);
        }

        var sequencesPerSecond = 2 * items / clock.Elapsed.TotalSeconds;
        double Rate(bool cache)
        {
            var times = new List<double>();
            for (var r = 0; r < 3; r++)
            {
                var c = Stopwatch.StartNew();
                var (_, tokens) = Generation.Generate(model, tokenizer, "Is honesty always right?", new GenerationOptions(Temperature: 0, MaxNewTokens: 256, UseCache: cache, StopAtEos: false));
                times.Add(tokens / c.Elapsed.TotalSeconds);
                Console.Error.WriteLine($"  generation {(cache ? "with" : "without")} cache: {times[^1]:F0} tokens/s");
            }

            return times.Order().ElementAt(1);
        }

        var cached = Rate(true);
        var uncached = Rate(false);
        Console.WriteLine(JsonSerializer.Serialize(new EvaluatorResult(size, threads, 2 * items, sequencesPerSecond, 256, cached, uncached, cached / uncached)));
    }
}
