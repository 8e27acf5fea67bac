namespace StableAlignment.Contracts;

/// <summary>Seed memories are stored.</summary>
public sealed record MemoriesSeeded
{
    public required Guid RunId { get; init; }
    public required int Count { get; init; }
}
