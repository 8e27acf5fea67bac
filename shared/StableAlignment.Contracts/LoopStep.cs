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

    /// <summary>
    /// Other models that play a fixed share of the agents in every iteration (an external API model beside the loop's
    /// checkpoints), by name: agent-runner calls a name listed in <c>Models:SocialAgents</c> at that entry's endpoint,
    /// any other name on the SocialAgent role's endpoint.
    /// </summary>
    public IReadOnlyList<SocialAgentChoice> Guests { get; init; } = [];

    /// <summary>
    /// Who plays the iteration's society: <see cref="Checkpoint"/>, <see cref="PreviousCheckpoint"/> with
    /// <see cref="PreviousShare"/> when there is one, and the <see cref="Guests"/> with their shares.
    /// </summary>
    public IReadOnlyList<SocialAgentChoice> Society()
    {
        var previous = PreviousCheckpoint is not null && PreviousShare > 0 ? PreviousShare : 0;
        var others = Guests.Where(g => g.Share > 0).ToList();
        var current = 1 - previous - others.Sum(g => g.Share);
        return [new() { Model = Checkpoint, Share = current }, .. previous > 0 ? [new SocialAgentChoice { Model = PreviousCheckpoint!, Share = previous }] : Array.Empty<SocialAgentChoice>(), .. others];
    }

    public int TrainEpochs { get; init; } = 2;
    public int? TrainMaxSteps { get; init; }
    public int TrainAccumulation { get; init; } = TrainingRecipe.Society.Accumulation;
    public double TrainLearningRate { get; init; } = TrainingRecipe.Society.LearningRate;

    /// <summary>The loop's seed: iteration k trains with seed <c>Seed + k</c>.</summary>
    public int Seed { get; init; }

    /// <summary>What this step trains with: the society's recipe (<see cref="TrainingRecipe.Society"/>) with the step's epochs, budget and rate, seeded by the loop's seed plus the iteration.</summary>
    public TrainingRecipe Training() => TrainingRecipe.Society with
    {
        Epochs = TrainEpochs, MaxSteps = TrainMaxSteps, Accumulation = TrainAccumulation, LearningRate = TrainLearningRate, Seed = Seed + Iteration,
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
