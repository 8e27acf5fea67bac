namespace StableAlignment.MemoryStore;

/// <summary>Bound from the "Memory" section.</summary>
public sealed class MemoryOptions
{
    public const string Section = "Memory";

    /// <summary>A stored question is recalled only when its cosine distance to the new one is below this (paper: 0.3).</summary>
    public double HintThreshold { get; set; } = 0.3;
}
