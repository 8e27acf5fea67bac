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
    /// <summary>"good" or "bad": the agent's initial setting ("" for questions from outside a simulation).</summary>
    public string Label { get; init; } = "";
    /// <summary>The earlier question whose answer went into the draft prompt, if any.</summary>
    public MemoryRecalled? MemoryHint { get; init; }
    /// <summary>Unit-normalised embedding of the question, stored with the agent's internal memory.</summary>
    public float[] QuestionEmbedding { get; init; } = [];
    public IReadOnlyList<TokenUsage> Tokens { get; init; } = [];
    public DateTime CompletedAt { get; init; }
}
