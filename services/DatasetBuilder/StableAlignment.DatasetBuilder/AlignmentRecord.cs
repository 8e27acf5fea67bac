namespace StableAlignment.DatasetBuilder;

/// <summary>A peer's feedback as the dataset sees it: the score is null when the rating was unparseable.</summary>
public sealed record PeerNote(int PeerId, string? Reason, int? Score);

/// <summary>
/// One interaction, whatever its source (the store, or a per-agent export in the original form). Scores outside
/// 1–7 — including the original code's −1 and 8 for unparseable — are null: never averaged, never trained on.
/// </summary>
public sealed record AlignmentRecord(
    int AgentId,
    string Label,
    int Round,
    string Question,
    string? Draft,
    IReadOnlyList<PeerNote> Peers,
    string? Revised,
    int? AlignmentBefore,
    int? AlignmentAfter,
    string Model)
{
    public static int? ValidScore(int? score) => score is >= 1 and <= 7 ? score : null;

    public static AlignmentRecord From(InteractionCompleted r) => new(
        r.AgentId,
        r.Label,
        r.Round,
        r.Question,
        r.Draft,
        [.. r.Peers.Select(p => new PeerNote(p.PeerId, p.Rating.Reason, ValidScore(p.Rating.Score)))],
        r.Revised,
        ValidScore(r.DraftAlignment.Score),
        ValidScore(r.RevisedAlignment?.Score),
        r.SocialModel);
}
