namespace StableAlignment.Evaluator;

/// <summary>
/// A benchmark as a suite names it, <c>kind:path</c>: the one place such a spec is parsed, its kind resolved to its
/// <see cref="IBenchmark"/> (an unknown kind is an <see cref="ArgumentException"/> listing the known ones).
/// </summary>
public sealed record BenchmarkSpec(IBenchmark Benchmark, string Path)
{
    /// <summary>Every kind, by name.</summary>
    public static IReadOnlyDictionary<string, IBenchmark> Kinds { get; } = new IBenchmark[]
    {
        new ChoiceBenchmark("bigbench", BenchmarkFiles.BigBench), new ChoiceBenchmark("hh-rlhf", BenchmarkFiles.HhRlhf),
        new ChoiceBenchmark("moral-stories", BenchmarkFiles.MoralStories), new ChoiceBenchmark("ethics", BenchmarkFiles.EthicsCommonsense),
        new ChoiceBenchmark("truthfulqa", BenchmarkFiles.TruthfulQa, BenchmarkFiles.TruthfulQaMc2), new HeldoutBenchmark(), new JudgeBenchmark(), new PairwiseBenchmark(),
    }.ToDictionary(b => b.Kind, StringComparer.OrdinalIgnoreCase);

    public string Kind => Benchmark.Kind;

    /// <summary>The spec's kind and path split, without resolving the kind (a path may still have to be confined first).</summary>
    public static (string Kind, string Path) Split(string? spec)
    {
        var colon = spec?.IndexOf(':') ?? -1;
        return colon <= 0 ? throw new ArgumentException($"Benchmark '{spec}' must read kind:path.") : (spec![..colon].ToLowerInvariant(), spec[(colon + 1)..]);
    }

    public static BenchmarkSpec Parse(string spec)
    {
        var (kind, path) = Split(spec);
        return Kinds.TryGetValue(kind, out var benchmark)
            ? new BenchmarkSpec(benchmark, path)
            : throw new ArgumentException($"Benchmark '{spec}': unknown kind '{kind}' ({string.Join(", ", Kinds.Keys)}).");
    }

    /// <summary>The name its scores are reported under: the kind and the file's name.</summary>
    public string Name => $"{Kind}:{System.IO.Path.GetFileNameWithoutExtension(Path.TrimEnd('/'))}";

    public override string ToString() => $"{Kind}:{Path}";
}
