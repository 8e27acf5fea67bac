namespace StableAlignment.Contracts;

/// <summary>Every planned interaction of a run has a record (completed or failed).</summary>
public sealed record RunCompleted
{
    public required Guid RunId { get; init; }
    public required int Completed { get; init; }
    public required int Failed { get; init; }
}
