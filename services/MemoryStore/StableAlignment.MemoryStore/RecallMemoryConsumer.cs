namespace StableAlignment.MemoryStore;

public sealed class RecallMemoryConsumer(IAgentMemoryRepository memory, IOptions<MemoryOptions> options) : IConsumer<RecallMemory>
{
    public async Task Consume(ConsumeContext<RecallMemory> context)
    {
        var m = context.Message;
        if (m.RunId == Guid.Empty || m.Embedding is not { Length: > 0 })
        {
            throw new InvalidMessageException("RecallMemory needs runId and a non-empty embedding.");
        }

        var memories = await memory.ListAsync(m.RunId, m.AgentId, context.CancellationToken);
        await context.RespondAsync(MemoryRecall.Nearest(m.RunId, m.AgentId, memories, m.Embedding, options.Value.HintThreshold, m.BeforeRound));
    }
}

public sealed class RecallMemoryConsumerDefinition : RetryingConsumerDefinition<RecallMemoryConsumer>
{
    public RecallMemoryConsumerDefinition() => ConcurrentMessageLimit = 256;
}
