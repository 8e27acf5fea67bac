namespace StableAlignment.Contracts;

/// <summary>Tokens one model call cost, by role ("social-agent", "peer", "observer", "embedding").</summary>
public sealed record TokenUsage
{
    public required string Role { get; init; }
    public required string Model { get; init; }
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
}
