namespace StableAlignment.Contracts;

/// <summary>A checkpoint was written and can be loaded; evaluators subscribe to this.</summary>
public sealed record CheckpointReady
{
    public required Guid RunId { get; init; }
    public required string CheckpointId { get; init; }
    /// <summary>The checkpoint folder relative to the trainer's root (job-…/checkpoints/step-N); the evaluator resolves it under its Evaluator:CheckpointsRoot.</summary>
    public required string Location { get; init; }
    public required string BaseModel { get; init; }
    public required DatasetId DatasetId { get; init; }
    public required int Step { get; init; }
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The job's last checkpoint (its step is the job's last step).</summary>
    public bool Final { get; init; }

    /// <summary>The loop step of the TrainModel that made it, if any.</summary>
    public LoopStep? Loop { get; init; }
}
