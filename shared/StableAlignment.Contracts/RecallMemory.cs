namespace StableAlignment.Contracts;

/// <summary>Asks memory-store for the agent's stored question nearest to an embedding; answered with <see cref="MemoryRecalled"/>.</summary>
public sealed record RecallMemory
{
    public required Guid RunId { get; init; }
    public required int AgentId { get; init; }
    /// <summary>Unit-normalised embedding of the new question.</summary>
    public required float[] Embedding { get; init; }
    /// <summary>Only memories from earlier rounds are considered (seed memories count as round -1).</summary>
    public int BeforeRound { get; init; } = int.MaxValue;
}
