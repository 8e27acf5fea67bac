namespace StableAlignment.Contracts;

/// <summary>Asks observer-rater to rate one answer for one aspect; answered with <see cref="AnswerRated"/>.</summary>
public sealed record RateAnswer
{
    public required Guid RunId { get; init; }
    public required Guid InteractionId { get; init; }
    public required RatingAspect Aspect { get; init; }
    public required AnswerStage Stage { get; init; }
    public required string Question { get; init; }
    public required string Answer { get; init; }
}
