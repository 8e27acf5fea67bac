namespace StableAlignment.Contracts;

/// <summary>Starts a SANDBOX simulation run in agent-runner. Publishing it twice starts one run.</summary>
public sealed record StartSimulation
{
    public required Guid RunId { get; init; }
    public required int GridSize { get; init; }
    public required int Rounds { get; init; }
    /// <summary>all_good, all_bad, half_half or mixed_half_half.</summary>
    public string InitialSetting { get; init; } = "all_good";
    public int Peers { get; init; } = 4;
    public bool GlobalInteraction { get; init; }
    public double Dropout { get; init; } = 0.5;
    public int Seed { get; init; }
    /// <summary>Seed memories per agent drawn from the prior (the original's 50; the prior needs twice as many per label).</summary>
    public int SeedMemories { get; init; } = 50;
    /// <summary>The question feed, in order; round i takes the next GridSize² questions, wrapping around.</summary>
    public required IReadOnlyList<string> Questions { get; init; }
    public IReadOnlyList<PriorEntry> Prior { get; init; } = [];

    /// <summary>The models of this run's social agents with their shares, by name on the SocialAgent role's endpoint; none: the configured society.</summary>
    public IReadOnlyList<SocialAgentChoice>? SocialAgentModels { get; init; }

    /// <summary>Set when the run is an iteration of a closed loop.</summary>
    public LoopStep? Loop { get; init; }
}
