namespace StableAlignment.Contracts;

/// <summary>Stores agents' seed memories before round 0; answered with <see cref="MemoriesSeeded"/>.</summary>
public sealed record SeedMemories
{
    public required Guid RunId { get; init; }
    public required IReadOnlyList<SeedMemory> Entries { get; init; }
}

/// <summary>One seed memory of one agent.</summary>
public sealed record SeedMemory
{
    public required int AgentId { get; init; }
    public required string Question { get; init; }
    public required string Answer { get; init; }
    public required float[] Embedding { get; init; }
}
