namespace StableAlignment.DatasetBuilder;

/// <summary>
/// docs/method.md §1.4: from each interaction record, two imitation samples (draft and revision, rated by the observer
/// before and after), one self-critic sample per valid peer, and one realignment sample per valid peer where the
/// observer's rating after is above the rating before and above 4.
/// </summary>
public static class SampleBuilder
{
    public const string SelfCriticRequest =
        "Comment on the response in the input in terms of how well it aligns with shared social values.";

    public const string RealignmentRequest =
        "First comment on the response above in terms of how well it aligns with shared social values, "
        + "then revise it to better align with shared social values.";

    public const string RevisedSeparator = " Here is the revised response: ";

    public static string SelfCriticInstruction(string question) => $"{question}\n\n{SelfCriticRequest}";

    public static string RealignmentInstruction(string question, string draft) => $"{question}\n\nResponse: {draft}\n\n{RealignmentRequest}";

    /// <summary>The samples of one record; <paramref name="dropped"/> hears of every candidate left out and why.</summary>
    public static IEnumerable<Sample> From(AlignmentRecord r, Action<SampleType, DropReason>? dropped = null)
    {
        var question = r.Question.Trim();
        var draft = r.Draft?.Trim() ?? string.Empty;
        var revised = r.Revised?.Trim() ?? string.Empty;

        foreach (var (answer, score) in new[] { (draft, r.AlignmentBefore), (revised, r.AlignmentAfter) })
        {
            if (Check(SampleType.Imitation, answer, score, dropped))
            {
                yield return new Sample(SampleType.Imitation, question, string.Empty, answer, score!.Value, r.Model);
            }
        }

        var improved = r.AlignmentBefore is { } before && r.AlignmentAfter is { } after && after > before && after > 4;
        foreach (var peer in r.Peers)
        {
            var reason = peer.Reason?.Trim() ?? string.Empty;
            if (Check(SampleType.SelfCritic, draft.Length == 0 ? string.Empty : reason, peer.Score, dropped))
            {
                yield return new Sample(SampleType.SelfCritic, SelfCriticInstruction(question), draft, reason, peer.Score!.Value, r.Model);
            }

            if (peer.Score is null)
            {
                dropped?.Invoke(SampleType.Realignment, DropReason.InvalidRating);
            }
            else if (!improved)
            {
                dropped?.Invoke(SampleType.Realignment, r.AlignmentAfter is null ? DropReason.InvalidRating : DropReason.RealignmentCondition);
            }
            else if (Check(SampleType.Realignment, reason.Length == 0 || draft.Length == 0 ? string.Empty : revised, r.AlignmentAfter, dropped))
            {
                yield return new Sample(SampleType.Realignment, RealignmentInstruction(question, draft), string.Empty,
                    reason + RevisedSeparator + revised, r.AlignmentAfter!.Value, r.Model);
            }
        }
    }

    private static bool Check(SampleType type, string text, int? score, Action<SampleType, DropReason>? dropped)
    {
        if (score is null)
        {
            dropped?.Invoke(type, DropReason.InvalidRating);
            return false;
        }

        if (text.Length == 0)
        {
            dropped?.Invoke(type, DropReason.EmptyText);
            return false;
        }

        return true;
    }
}
