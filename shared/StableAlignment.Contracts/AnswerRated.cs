namespace StableAlignment.Contracts;

/// <summary>An observer rated an answer: the response to <see cref="RateAnswer"/>.</summary>
public sealed record AnswerRated
{
    public required Guid RunId { get; init; }
    public required Guid InteractionId { get; init; }
    public required AnswerStage Stage { get; init; }
    public required Rating Rating { get; init; }
    public TokenUsage? Tokens { get; init; }
}
