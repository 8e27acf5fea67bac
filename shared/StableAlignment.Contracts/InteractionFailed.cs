namespace StableAlignment.Contracts;

/// <summary>An interaction could not be completed; the reason is recorded so that a run can retry it.</summary>
public sealed record InteractionFailed
{
    public required Guid RunId { get; init; }
    public required Guid InteractionId { get; init; }
    public required int Round { get; init; }
    public required int AgentId { get; init; }
    public required string Question { get; init; }
    public required string Reason { get; init; }
    public DateTime FailedAt { get; init; }
}
