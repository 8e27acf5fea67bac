namespace StableAlignment.Contracts;

/// <summary>Stops a training job; its last checkpoint stays, and a new <see cref="TrainModel"/> with the same settings resumes it.</summary>
public sealed record CancelTraining
{
    public required string JobId { get; init; }
}
