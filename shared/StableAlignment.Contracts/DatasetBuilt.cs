namespace StableAlignment.Contracts;

/// <summary>dataset-builder finished a dataset; counts per sample type.</summary>
public sealed record DatasetBuilt
{
    public required Guid RunId { get; init; }
    public required DatasetId DatasetId { get; init; }
    public required int Imitation { get; init; }
    public required int SelfCritic { get; init; }
    public required int Realignment { get; init; }
    public required int Groups { get; init; }
}
