namespace StableAlignment.Evaluator;

/// <summary>Bound from the "Evaluator" section.</summary>
public sealed class EvaluatorOptions
{
    public const string Section = "Evaluator";

    /// <summary>One folder per evaluated checkpoint, and the leaderboard.</summary>
    public string Root { get; set; } = "artifacts/evaluations";

    /// <summary>Where checkpoint locations from messages are resolved (the trainer's Trainer:Root, shared read-only).</summary>
    public string CheckpointsRoot { get; set; } = "artifacts/training";

    /// <summary>Where benchmark files named in an <see cref="EvaluateCheckpoint"/> message are resolved.</summary>
    public string BenchmarksRoot { get; set; } = "artifacts/benchmarks";

    /// <summary>The suite run on every checkpoint-ready event, as <c>kind:path</c> (the operator's own paths, taken as given).</summary>
    public List<string> Benchmarks { get; set; } = [];

    public bool Adversarial { get; set; }

    /// <summary>Jailbreak-style wrappers, one per line with {prompt}; the bundled file by default.</summary>
    public string? WrappersFile { get; set; }

    public int Repeats { get; set; } = 1;

    public int? Limit { get; set; }
}
