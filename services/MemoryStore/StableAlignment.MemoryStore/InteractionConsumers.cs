using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Logging;
using StableAlignment.Contracts;
using StableAlignment.Hosting;
using StableAlignment.Storage;
using StableAlignment.Primitives;

namespace StableAlignment.MemoryStore;

/// <summary>
/// Persists completed interactions (external memory) and the agent's answer (internal memory), then announces
/// <see cref="InteractionStored"/>. Every step is idempotent, so a redelivery after a crash between them completes
/// what is missing: the record is stored once, the memory entry is written from the stored record (never from a
/// second copy with other text), and the event is published again.
/// </summary>
public sealed class InteractionCompletedConsumer(
    IInteractionRepository interactions,
    IAgentMemoryRepository memory,
    ModelPrices prices,
    ILogger<InteractionCompletedConsumer> logger) : IConsumer<InteractionCompleted>
{
    public async Task Consume(ConsumeContext<InteractionCompleted> context)
    {
        var m = context.Message;
        if (m.RunId == Guid.Empty || m.InteractionId == Guid.Empty || string.IsNullOrWhiteSpace(m.Question))
        {
            throw new InvalidMessageException("InteractionCompleted needs runId, interactionId and question.");
        }

        var ct = context.CancellationToken;
        var record = InteractionRecord.From(m);
        if (await interactions.TrySaveAsync(record, ct))
        {
            Count(m, prices);
        }
        else
        {
            logger.LogInformation("Interaction {InteractionId} of run {RunId} is stored already", m.InteractionId, m.RunId);
            record = await interactions.GetAsync(m.InteractionId, ct) ?? record;
        }

        if (record.Status == InteractionStatus.Completed)
        {
            await memory.UpsertAsync(new MemoryEntry
            {
                Id = Guid.Empty, RunId = record.RunId, AgentId = record.AgentId, Question = record.Question, Round = record.Round,
                Answer = record.Revised ?? record.Draft ?? "", Embedding = m.QuestionEmbedding, UpdatedAt = record.CompletedAt,
            }, ct);
        }

        await context.Publish(Stored(record), ct);
    }

    /// <summary>The project counters of a newly stored record (a repeat is not counted again).</summary>
    private static void Count(InteractionCompleted m, ModelPrices prices)
    {
        Telemetry.InteractionsCompleted.Add(1);
        foreach (var peer in m.Peers)
        {
            Telemetry.RecordRating("peer", peer.Rating.IsValid && peer.Rating.Flag is null);
        }

        foreach (var rating in new[] { m.DraftAlignment, m.DraftEngagement, m.RevisedAlignment, m.RevisedEngagement })
        {
            if (rating is not null)
            {
                Telemetry.RecordRating("observer", rating.IsValid && rating.Flag is null);
            }
        }

        foreach (var t in m.Tokens)
        {
            var tags = new TagList { { "model", t.Model }, { "role", t.Role } };
            Telemetry.Tokens.Add(t.PromptTokens, [.. tags, new("kind", "prompt")]);
            Telemetry.Tokens.Add(t.CompletionTokens, [.. tags, new("kind", "completion")]);
            if (prices.Cost(t.Model, t.PromptTokens, t.CompletionTokens) is { } cost)
            {
                Telemetry.Cost.Add(cost, tags);
            }
        }
    }

    public static InteractionStored Stored(InteractionRecord r) => new()
    {
        RunId = r.RunId, InteractionId = r.Id, Round = r.Round, AgentId = r.AgentId, Completed = r.Status == InteractionStatus.Completed,
    };
}

/// <summary>Records failed interactions so that they are visible and can be retried (a completed record is never replaced by a failure).</summary>
public sealed class InteractionFailedConsumer(IInteractionRepository interactions) : IConsumer<InteractionFailed>
{
    public async Task Consume(ConsumeContext<InteractionFailed> context)
    {
        var ct = context.CancellationToken;
        var record = InteractionRecord.From(context.Message);
        if (await interactions.TrySaveAsync(record, ct))
        {
            Telemetry.InteractionsFailed.Add(1);
        }
        else
        {
            record = await interactions.GetAsync(record.Id, ct) ?? record;
        }

        await context.Publish(InteractionCompletedConsumer.Stored(record), ct);
    }
}

/// <summary>Answers <see cref="GetRunTally"/>: counts, a round's agents with records, the common failure reasons.</summary>
public sealed class GetRunTallyConsumer(IInteractionRepository interactions) : IConsumer<GetRunTally>
{
    public async Task Consume(ConsumeContext<GetRunTally> context)
    {
        var m = context.Message;
        var ct = context.CancellationToken;
        var completed = (int)await interactions.CountByRunAsync(m.RunId, InteractionStatus.Completed, ct);
        var failed = (int)await interactions.CountByRunAsync(m.RunId, InteractionStatus.Failed, ct);
        var round = m.Round is { } r ? await interactions.ListByRoundAsync(m.RunId, r, ct) : [];
        var failures = failed == 0 || !m.WithFailures
            ? []
            : (await interactions.ListByRunAsync(m.RunId, ct)).Where(x => x.Status == InteractionStatus.Failed)
                .GroupBy(x => x.FailureReason ?? "unknown").OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(5)
                .Select(g => new FailureCount(g.Key, g.Count())).ToList();
        await context.RespondAsync(new RunTally
        {
            RunId = m.RunId, Completed = completed, Failed = failed,
            RoundCompleted = [.. round.Where(x => x.Status == InteractionStatus.Completed).Select(x => x.AgentId)],
            RoundFailed = [.. round.Where(x => x.Status == InteractionStatus.Failed).Select(x => x.AgentId)],
            Failures = failures,
        });
    }
}

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

/// <summary>Answers <see cref="FindInteraction"/>.</summary>
public sealed class FindInteractionConsumer(IInteractionRepository interactions) : IConsumer<FindInteraction>
{
    public async Task Consume(ConsumeContext<FindInteraction> context) =>
        await context.RespondAsync(new InteractionFound
        {
            InteractionId = context.Message.InteractionId,
            Completed = await interactions.GetAsync(context.Message.InteractionId, context.CancellationToken) is { Status: InteractionStatus.Completed },
        });
}

public sealed class InteractionCompletedConsumerDefinition : RetryingConsumerDefinition<InteractionCompletedConsumer>;

public sealed class InteractionFailedConsumerDefinition : RetryingConsumerDefinition<InteractionFailedConsumer>;

public sealed class GetRunTallyConsumerDefinition : RetryingConsumerDefinition<GetRunTallyConsumer>;

public sealed class ListInteractionsConsumerDefinition : RetryingConsumerDefinition<ListInteractionsConsumer>;

public sealed class FindInteractionConsumerDefinition : RetryingConsumerDefinition<FindInteractionConsumer>;
