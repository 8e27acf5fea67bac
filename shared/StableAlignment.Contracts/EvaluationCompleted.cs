namespace StableAlignment.Contracts;

/// <summary>An evaluation finished; scores by benchmark and where the report lies.</summary>
public sealed record EvaluationCompleted
{
    public required Guid RunId { get; init; }
    public required string CheckpointId { get; init; }
    public required IReadOnlyDictionary<string, double> Scores { get; init; }
    public required string ReportLocation { get; init; }
}
