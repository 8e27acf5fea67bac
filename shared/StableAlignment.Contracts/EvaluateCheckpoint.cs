namespace StableAlignment.Contracts;

/// <summary>Asks the evaluator to run its suite on a checkpoint.</summary>
public sealed record EvaluateCheckpoint
{
    public required Guid RunId { get; init; }
    public required string CheckpointId { get; init; }
    public required string Location { get; init; }
    /// <summary>Benchmarks as <c>kind:path</c>, e.g. <c>hh-rlhf:data/hh.jsonl</c>; empty runs the configured suite.</summary>
    public IReadOnlyList<string> Benchmarks { get; init; } = [];

    // The options of `sa eval`; null takes the evaluator's configured value (Evaluator section).

    /// <summary>Also answer every question inside jailbreak-style wrappers and report the drop.</summary>
    public bool? Adversarial { get; init; }

    /// <summary>A wrappers file (one per line with {prompt}) under the benchmarks root; null: the configured or bundled file.</summary>
    public string? Wrappers { get; init; }

    /// <summary>Samples per judged question (1–100).</summary>
    public int? Repeats { get; init; }

    /// <summary>At most this many items per benchmark.</summary>
    public int? Limit { get; init; }

    /// <summary>Tokens generated per answer for judged benchmarks (1–4096; default 256).</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>A checkpoint location (under the checkpoints root) the pairwise judge compares against.</summary>
    public string? Baseline { get; init; }

    /// <summary>Judge with the observer's own model (judge and pairwise benchmarks); refused unless set, and marked in the report.</summary>
    public bool AllowSelfJudge { get; init; }
}
