using System.Diagnostics;

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

public sealed class InteractionCompletedConsumerDefinition : RetryingConsumerDefinition<InteractionCompletedConsumer>;
