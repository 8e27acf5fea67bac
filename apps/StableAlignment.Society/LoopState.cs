using System.Text.Json.Serialization;
using StableAlignment.Evaluator;

namespace StableAlignment.Society;

/// <summary>How the agents played by one model did in one run (valid observer ratings, 1–7).</summary>
public sealed record GroupAlignment(string Model, int Interactions, Estimate Before, Estimate After);

/// <summary>One iteration's chain: the checkpoint that played the society → its run → the dataset → the checkpoint trained → its scores.</summary>
public sealed record LoopIteration
{
    public required int Iteration { get; init; }

    /// <summary>The checkpoint that played the society (and the base of this iteration's training), as a folder.</summary>
    public required string Checkpoint { get; init; }

    public string? PreviousCheckpoint { get; init; }

    public Guid? RunId { get; set; }
    public bool Simulated { get; set; }
    public int Interactions { get; set; }
    public int Ratings { get; set; }
    public int InvalidRatings { get; set; }
    public Estimate? AlignmentBefore { get; set; }
    public Estimate? AlignmentAfter { get; set; }
    public List<GroupAlignment> Groups { get; set; } = [];
    public string? DatasetId { get; set; }
    public long Samples { get; set; }
    public string? TrainedCheckpoint { get; set; }
    public ModelScores? Scores { get; set; }

    /// <summary>The pipeline's events that moved this iteration on, kept so that a restarted loop can announce the last one again.</summary>
    public DatasetBuilt? Dataset { get; set; }

    public TrainModel? Training { get; set; }

    public CheckpointReady? Final { get; set; }

    [JsonIgnore]
    public bool Done => Scores is not null;
}

/// <summary>loop.json: the loop's id, its options and every iteration so far; rewritten atomically after each phase.</summary>
public sealed record LoopState
{
    public required Guid LoopId { get; init; }
    public required LoopRecipe Options { get; init; }
    public ModelScores? BaseScores { get; set; }
    public List<LoopIteration> Iterations { get; init; } = [];
}
