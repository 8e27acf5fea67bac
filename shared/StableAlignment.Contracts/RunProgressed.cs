namespace StableAlignment.Contracts;

/// <summary>Progress of a run: interactions completed and failed out of the total planned.</summary>
public sealed record RunProgressed
{
    public required Guid RunId { get; init; }
    public required int Completed { get; init; }
    public required int Failed { get; init; }
    public required int Total { get; init; }
}
