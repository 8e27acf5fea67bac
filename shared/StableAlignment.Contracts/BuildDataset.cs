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

    /// <summary>More runs pooled with <see cref="RunId"/> into one dataset (as <c>sa dataset build --run A --run B</c>).</summary>
    public IReadOnlyList<Guid> PoolRuns { get; init; } = [];

    /// <summary>authors, alpaca, trl; null writes all three. The authors form is always written: training reads it.</summary>
    public IReadOnlyList<string>? Formats { get; init; }
}
