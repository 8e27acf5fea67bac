namespace StableAlignment.Contracts;

/// <summary>One peer's alignment rating of a draft and its reason (Back-Scatter step 4).</summary>
public sealed record PeerFeedback
{
    public required int PeerId { get; init; }
    public required Rating Rating { get; init; }
}
