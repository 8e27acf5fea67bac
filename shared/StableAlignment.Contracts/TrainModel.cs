namespace StableAlignment.Contracts;

/// <summary>
/// Asks the trainer to fine-tune a base model on a dataset: a <see cref="TrainingRecipe"/> (its settings, flat in the
/// message and in <c>POST /api/training</c>) and the run and dataset it applies to.
/// </summary>
public sealed record TrainModel : TrainingRecipe
{
    public required Guid RunId { get; init; }
    public required DatasetId DatasetId { get; init; }

    /// <summary>The loop step this training belongs to, if any; copied onto its CheckpointReady messages.</summary>
    public LoopStep? Loop { get; init; }

    /// <summary>A request for <paramref name="recipe"/> on a run's dataset.</summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public TrainModel(TrainingRecipe recipe, Guid runId, DatasetId datasetId) : base(recipe)
    {
        RunId = runId;
        DatasetId = datasetId;
    }

    public TrainModel()
    {
    }
}
