namespace StableAlignment.Contracts;

/// <summary>Asks the evaluator to run its suite on a checkpoint.</summary>
public sealed record EvaluateCheckpoint
{
    public required Guid RunId { get; init; }
    public required string CheckpointId { get; init; }
    public required string Location { get; init; }
    /// <summary>Benchmarks as <c>kind:path</c>, e.g. <c>hh-rlhf:data/hh.jsonl</c>; empty runs the configured suite.</summary>
    public IReadOnlyList<string> Benchmarks { get; init; } = [];
}
