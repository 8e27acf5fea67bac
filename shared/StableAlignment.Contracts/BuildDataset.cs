namespace StableAlignment.Contracts;

/// <summary>Asks dataset-builder to turn a run's interaction records into alignment data.</summary>
public sealed record BuildDataset
{
    public required Guid RunId { get; init; }
    /// <summary>Imitation : self-critic : realignment, e.g. "5:1:1"; null keeps every sample.</summary>
    public string? Ratios { get; init; } = "5:1:1";
    public double Holdout { get; init; } = 0.1;
    public int Seed { get; init; }
    public int BatchSize { get; init; } = 64;
}
