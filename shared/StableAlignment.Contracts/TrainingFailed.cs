namespace StableAlignment.Contracts;

/// <summary>A training job stopped with an error (missing data, a bad setting, a crash); its reason is kept.</summary>
public sealed record TrainingFailed
{
    public required Guid RunId { get; init; }
    public required string JobId { get; init; }
    public required string Reason { get; init; }
}
