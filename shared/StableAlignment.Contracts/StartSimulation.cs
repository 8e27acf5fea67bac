namespace StableAlignment.Contracts;

/// <summary>
/// Starts a SANDBOX simulation run in agent-runner: the run's <see cref="SimulationSettings"/> (flat, as they are), its
/// id and its question feed. Publishing it twice starts one run.
/// </summary>
public sealed record StartSimulation : SimulationSettings
{
    public required Guid RunId { get; init; }

    /// <summary>The question feed, in order; round i takes the next GridSize² questions, wrapping around.</summary>
    public required IReadOnlyList<string> Questions { get; init; }

    public IReadOnlyList<PriorEntry> Prior { get; init; } = [];

    /// <summary>The models of this run's social agents with their shares, by name on the SocialAgent role's endpoint; none: the configured society.</summary>
    public IReadOnlyList<SocialAgentChoice>? SocialAgentModels { get; init; }

    /// <summary>Set when the run is an iteration of a closed loop.</summary>
    public LoopStep? Loop { get; init; }

    /// <summary>A start of run <paramref name="runId"/> with <paramref name="settings"/> (only the settings are taken from it) on a feed.</summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public StartSimulation(SimulationSettings settings, Guid runId, IReadOnlyList<string> questions) : base(settings)
    {
        RunId = runId;
        Questions = questions;
    }

    public StartSimulation()
    {
    }
}
