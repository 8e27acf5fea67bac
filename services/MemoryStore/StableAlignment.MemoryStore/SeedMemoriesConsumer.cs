namespace StableAlignment.MemoryStore;

public sealed class SeedMemoriesConsumer(IAgentMemoryRepository memory) : IConsumer<SeedMemories>
{
    /// <summary>Entries in one message; agent-runner sends batches well under it.</summary>
    public const int MaxEntries = 50_000;

    public async Task Consume(ConsumeContext<SeedMemories> context)
    {
        var m = context.Message;
        if (m.RunId == Guid.Empty || m.Entries is null || m.Entries.Count > MaxEntries)
        {
            throw new InvalidMessageException($"SeedMemories: needs a run id and at most {MaxEntries} entries per message (send batches).");
        }

        if (m.Entries.Select((e, i) => (e, i)).FirstOrDefault(x => string.IsNullOrWhiteSpace(x.e.Question) || x.e.Answer is null || x.e.Embedding is not { Length: > 0 }) is { e: not null } bad)
        {
            throw new InvalidMessageException($"SeedMemories: entry {bad.i} lacks a question, an answer or an embedding.");
        }

        foreach (var e in m.Entries)
        {
            await memory.UpsertAsync(new MemoryEntry
            {
                Id = Guid.Empty, RunId = m.RunId, AgentId = e.AgentId, Question = e.Question, Answer = e.Answer,
                Embedding = e.Embedding, Round = -1, UpdatedAt = DateTime.UnixEpoch,
            }, context.CancellationToken);
        }

        await context.RespondAsync(new MemoriesSeeded { RunId = m.RunId, Count = m.Entries.Count });
    }
}

public sealed class SeedMemoriesConsumerDefinition : RetryingConsumerDefinition<SeedMemoriesConsumer>;
