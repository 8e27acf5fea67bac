namespace StableAlignment.MemoryStore;

/// <summary>Answers <see cref="ListInteractions"/> with a page of completed records.</summary>
public sealed class ListInteractionsConsumer(IInteractionRepository interactions) : IConsumer<ListInteractions>
{
    public const int MaxPage = 500;

    public async Task Consume(ConsumeContext<ListInteractions> context)
    {
        var m = context.Message;
        if (m.Skip < 0 || m.Take < 1)
        {
            throw new InvalidMessageException("ListInteractions needs skip ≥ 0 and take ≥ 1.");
        }

        var ct = context.CancellationToken;
        var page = await interactions.PageCompletedAsync(m.RunId, m.Skip, Math.Min(m.Take, MaxPage), ct);
        await context.RespondAsync(new InteractionsListed
        {
            RunId = m.RunId,
            Total = (int)await interactions.CountByRunAsync(m.RunId, InteractionStatus.Completed, ct),
            Records = [.. page.Select(ToMessage)],
        });
    }

    /// <summary>A stored record as the message it came from (the question embedding is not kept with the record).</summary>
    public static InteractionCompleted ToMessage(InteractionRecord r) => new()
    {
        RunId = r.RunId, InteractionId = r.Id, Round = r.Round, AgentId = r.AgentId, Question = r.Question,
        Draft = r.Draft ?? "", SocialModel = r.SocialModel ?? "unknown",
        DraftAlignment = r.DraftAlignment ?? Missing(RatingAspect.Alignment),
        DraftEngagement = r.DraftEngagement ?? Missing(RatingAspect.Engagement),
        Peers = r.Peers, Revised = r.Revised, RevisedAlignment = r.RevisedAlignment, RevisedEngagement = r.RevisedEngagement,
        Label = r.Label, Tokens = r.Tokens, CompletedAt = r.CompletedAt,
        MemoryHint = r.MemoryHintQuestion is { } q
            ? new MemoryRecalled { RunId = r.RunId, AgentId = r.AgentId, Found = true, Question = q, Distance = r.MemoryHintDistance ?? 0 }
            : null,
    };

    private static Rating Missing(RatingAspect aspect) => new() { Aspect = aspect, RawReply = "", Model = "unknown" };
}

public sealed class ListInteractionsConsumerDefinition : RetryingConsumerDefinition<ListInteractionsConsumer>;
