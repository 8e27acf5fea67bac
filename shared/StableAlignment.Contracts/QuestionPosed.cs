namespace StableAlignment.Contracts;

/// <summary>
/// A question enters the society. Published by the gateway, by pipelines (any language, see docs/api.md) or by a run.
/// <see cref="QuestionId"/> identifies the resulting interaction: posting the same id twice stores one interaction.
/// </summary>
public sealed record QuestionPosed
{
    public required Guid RunId { get; init; }
    public required Guid QuestionId { get; init; }
    public required string Text { get; init; }
    /// <summary>Round of the simulation (0 for questions posted from outside a simulation).</summary>
    public int Round { get; init; }
    /// <summary>The social agent that answers (0 for questions posted from outside a simulation).</summary>
    public int AgentId { get; init; }
    public DateTime PostedAt { get; init; }
}
