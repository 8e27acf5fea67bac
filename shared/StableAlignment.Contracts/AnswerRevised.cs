namespace StableAlignment.Contracts;

/// <summary>A social agent revised its draft after its peers' feedback.</summary>
public sealed record AnswerRevised
{
    public required Guid RunId { get; init; }
    public required Guid InteractionId { get; init; }
    public required int Round { get; init; }
    public required int AgentId { get; init; }
    public required string Revised { get; init; }
    public required string Model { get; init; }
}
