namespace StableAlignment.Contracts;

/// <summary>
/// One interaction finished: the whole record that memory-store persists and dataset-builder learns from.
/// Keyed by <see cref="InteractionId"/>; redelivery never stores a second copy.
/// </summary>
public sealed record InteractionCompleted
{
    public required Guid RunId { get; init; }
    public required Guid InteractionId { get; init; }
    public required int Round { get; init; }
    public required int AgentId { get; init; }
    public required string Question { get; init; }
    public required string Draft { get; init; }
    public required string SocialModel { get; init; }
    public required Rating DraftAlignment { get; init; }
    public required Rating DraftEngagement { get; init; }
    public IReadOnlyList<PeerFeedback> Peers { get; init; } = [];
    public string? Revised { get; init; }
    public Rating? RevisedAlignment { get; init; }
    public Rating? RevisedEngagement { get; init; }
    public DateTime CompletedAt { get; init; }
}
