namespace StableAlignment.Contracts;

/// <summary>
/// Where a message stands in a closed loop (<c>sa loop</c> as a pipeline on the bus): iteration <see cref="Iteration"/>
/// of <see cref="Iterations"/>, whose society is played by <see cref="Checkpoint"/> — a model name the model-server
/// resolves and the trainer starts from (a folder under the models root, or <c>checkpoints/</c> + a checkpoint's
/// location under the trainer's root). Carried by StartSimulation → TrainModel → CheckpointReady; agent-runner turns
/// the run's DatasetBuilt into TrainModel and the final CheckpointReady into the next StartSimulation.
/// </summary>
public sealed record LoopStep
{
    public required Guid LoopId { get; init; }
    public required int Iteration { get; init; }
    public required int Iterations { get; init; }
    public required string Checkpoint { get; init; }

    /// <summary>The checkpoint of the iteration before; plays <see cref="PreviousShare"/> of the agents.</summary>
    public string? PreviousCheckpoint { get; init; }

    /// <summary>Share of the agents (0–1) that stay on the previous checkpoint from iteration 2 on.</summary>
    public double PreviousShare { get; init; }

    public int TrainEpochs { get; init; } = 2;
    public int? TrainMaxSteps { get; init; }
    public int TrainAccumulation { get; init; } = TrainingRecipe.Society.Accumulation;
    public double TrainLearningRate { get; init; } = TrainingRecipe.Society.LearningRate;

    /// <summary>What this step trains with: the society's recipe (<see cref="TrainingRecipe.Society"/>) with the step's epochs, budget and rate, seeded by the iteration.</summary>
    public TrainingRecipe Training() => TrainingRecipe.Society with
    {
        Epochs = TrainEpochs, MaxSteps = TrainMaxSteps, Accumulation = TrainAccumulation, LearningRate = TrainLearningRate, Seed = Iteration,
    };

    /// <summary>The prefix of model names that are checkpoints under the trainer's root.</summary>
    public const string CheckpointPrefix = "checkpoints/";
}

/// <summary>A model that plays a share of a run's social agents, by name on the SocialAgent role's endpoint.</summary>
public sealed record SocialAgentChoice
{
    public required string Model { get; init; }
    public double Share { get; init; } = 1;
}
