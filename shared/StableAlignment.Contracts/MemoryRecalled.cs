namespace StableAlignment.Contracts;

/// <summary>The nearest stored question and the agent's answer to it, when its cosine distance is below the threshold.</summary>
public sealed record MemoryRecalled
{
    public required Guid RunId { get; init; }
    public required int AgentId { get; init; }
    public bool Found { get; init; }
    public string? Question { get; init; }
    public string? Answer { get; init; }
    public double Distance { get; init; } = 1;
}
