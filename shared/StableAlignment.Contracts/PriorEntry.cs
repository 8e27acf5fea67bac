namespace StableAlignment.Contracts;

/// <summary>A labelled question→answer pair: seed memories come from it (aligned answers for good agents, misaligned for bad).</summary>
public sealed record PriorEntry
{
    public required string Question { get; init; }
    public required string Response { get; init; }
    /// <summary>True when the response is aligned with shared social values.</summary>
    public required bool Aligned { get; init; }
}
