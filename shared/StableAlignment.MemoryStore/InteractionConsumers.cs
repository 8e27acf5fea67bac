using MassTransit;
using Microsoft.Extensions.Logging;
using StableAlignment.Contracts;
using StableAlignment.Hosting;
using StableAlignment.Storage;

namespace StableAlignment.MemoryStore;

/// <summary>Persists completed interactions (external memory) and the agent's latest answer (internal memory).</summary>
public sealed class InteractionCompletedConsumer(
    IInteractionRepository interactions,
    IAgentMemoryRepository memory,
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
        if (!await interactions.TrySaveAsync(InteractionRecord.From(m), ct))
        {
            logger.LogInformation("Interaction {InteractionId} of run {RunId} is stored already", m.InteractionId, m.RunId);
            return;
        }

        await memory.UpsertAsync(new MemoryEntry
        {
            Id = Guid.Empty, RunId = m.RunId, AgentId = m.AgentId, Question = m.Question, Round = m.Round,
            Answer = m.Revised ?? m.Draft, Embedding = m.QuestionEmbedding, UpdatedAt = m.CompletedAt,
        }, ct);
    }
}

/// <summary>Records failed interactions so that they are visible and can be retried.</summary>
public sealed class InteractionFailedConsumer(IInteractionRepository interactions) : IConsumer<InteractionFailed>
{
    public Task Consume(ConsumeContext<InteractionFailed> context) =>
        interactions.TrySaveAsync(InteractionRecord.From(context.Message), context.CancellationToken);
}

public sealed class InteractionCompletedConsumerDefinition : RetryingConsumerDefinition<InteractionCompletedConsumer>;

public sealed class InteractionFailedConsumerDefinition : RetryingConsumerDefinition<InteractionFailedConsumer>;
