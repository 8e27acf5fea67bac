namespace StableAlignment.Contracts;

/// <summary>Starts (or resumes) a SANDBOX simulation run in agent-runner.</summary>
public sealed record StartSimulation
{
    public required Guid RunId { get; init; }
    public required int GridSize { get; init; }
    public required int Rounds { get; init; }
    public string InitialSetting { get; init; } = "all_good";
    public int Peers { get; init; } = 4;
    public bool GlobalInteraction { get; init; }
    public double Dropout { get; init; } = 0.5;
    public int Seed { get; init; }
    /// <summary>The question feed, in order; round i takes the next GridSize² questions, wrapping around.</summary>
    public required IReadOnlyList<string> Questions { get; init; }
}
