namespace StableAlignment.Contracts;

/// <summary>Asks memory-store what it holds for a run; answered with <see cref="RunTally"/>.</summary>
public sealed record GetRunTally
{
    public required Guid RunId { get; init; }
    /// <summary>When set, the tally lists the agents of this round that have a record.</summary>
    public int? Round { get; init; }
    /// <summary>Also count the failure reasons (reads every record of the run: for status pages, not round barriers).</summary>
    public bool WithFailures { get; init; }
}

/// <summary>memory-store's counts for a run, and, when asked for a round, which of its agents have a record.</summary>
public sealed record RunTally
{
    public required Guid RunId { get; init; }
    public required int Completed { get; init; }
    public required int Failed { get; init; }
    /// <summary>Agents of the asked round with a completed record.</summary>
    public IReadOnlyList<int> RoundCompleted { get; init; } = [];
    /// <summary>Agents of the asked round with a failed record.</summary>
    public IReadOnlyList<int> RoundFailed { get; init; } = [];
    /// <summary>The most common failure reasons, most frequent first (at most five); only when asked for.</summary>
    public IReadOnlyList<FailureCount> Failures { get; init; } = [];
}

public sealed record FailureCount(string Reason, int Count);
