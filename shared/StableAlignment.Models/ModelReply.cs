using StableAlignment.Contracts;

namespace StableAlignment.Models;

/// <summary>A model's reply with the tokens it cost, as the endpoint reported them (0 when it did not).</summary>
public sealed record ModelReply(string Text, string Model, int PromptTokens, int CompletionTokens)
{
    /// <summary>The reply's token counts as an interaction records them, under the caller's role.</summary>
    public TokenUsage Usage(string role) => new() { Role = role, Model = Model, PromptTokens = PromptTokens, CompletionTokens = CompletionTokens };
}
