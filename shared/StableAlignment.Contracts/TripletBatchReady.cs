namespace StableAlignment.Contracts;

/// <summary>A batch of grouped samples for the trainer; <see cref="BatchIndex"/> of <see cref="BatchCount"/>.</summary>
public sealed record TripletBatchReady
{
    public required Guid RunId { get; init; }
    public required DatasetId DatasetId { get; init; }
    public required int BatchIndex { get; init; }
    public required int BatchCount { get; init; }
    public required IReadOnlyList<TripletGroup> Groups { get; init; }
}
