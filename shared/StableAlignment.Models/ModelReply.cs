namespace StableAlignment.Models;

/// <summary>A model's reply with the tokens it cost, as the endpoint reported them (0 when it did not).</summary>
public sealed record ModelReply(string Text, string Model, int PromptTokens, int CompletionTokens);
