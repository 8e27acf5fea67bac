namespace StableAlignment.Contracts;

/// <summary>A social agent drafted its first answer to a question.</summary>
public sealed record AnswerDrafted
{
    public required Guid RunId { get; init; }
    public required Guid InteractionId { get; init; }
    public required int Round { get; init; }
    public required int AgentId { get; init; }
    public required string Question { get; init; }
    public required string Draft { get; init; }
    public required string Model { get; init; }
}
