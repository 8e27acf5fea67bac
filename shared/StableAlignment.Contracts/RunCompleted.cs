namespace StableAlignment.Contracts;

/// <summary>A run ended: every planned interaction has a record (completed or failed), or the run failed (<see cref="Reason"/>).</summary>
public sealed record RunCompleted
{
    public required Guid RunId { get; init; }
    public required int Completed { get; init; }
    public required int Failed { get; init; }
    /// <summary>Why the run stopped before its work was done; null when it ran to the end.</summary>
    public string? Reason { get; init; }
}
