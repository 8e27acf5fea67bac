namespace StableAlignment.Contracts;

/// <summary>Periodic progress of a training job.</summary>
public sealed record TrainingProgressed
{
    public required Guid RunId { get; init; }
    public required string JobId { get; init; }
    public required int Step { get; init; }
    public required int TotalSteps { get; init; }
    public required double Loss { get; init; }
    public double LearningRate { get; init; }
    public double TokensPerSecond { get; init; }
}
