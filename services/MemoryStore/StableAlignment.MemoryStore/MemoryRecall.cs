using MassTransit;
using Microsoft.Extensions.Options;
using StableAlignment.Contracts;
using StableAlignment.Hosting;
using StableAlignment.Storage;
using StableAlignment.Primitives;

namespace StableAlignment.MemoryStore;

/// <summary>Bound from the "Memory" section.</summary>
public sealed class MemoryOptions
{
    public const string Section = "Memory";

    /// <summary>A stored question is recalled only when its cosine distance to the new one is below this (paper: 0.3).</summary>
    public double HintThreshold { get; set; } = 0.3;
}

/// <summary>
/// Retrieval: the agent's memories come from the store by their (run, agent) index, and the nearest question
/// is found by brute-force cosine over those unit vectors (SIMD dot products). An agent holds its seed memories
/// plus one entry per distinct question it answered — tens to hundreds — so a scan costs microseconds and needs
/// no cache that replicas would have to keep coherent.
/// </summary>
public static class MemoryRecall
{
    /// <summary>The nearest memory from rounds before <paramref name="beforeRound"/>; ties go to the later round.</summary>
    public static MemoryRecalled Nearest(Guid runId, int agentId, IReadOnlyList<MemoryEntry> memories, ReadOnlySpan<float> query, double threshold, int beforeRound = int.MaxValue)
    {
        MemoryEntry? best = null;
        var bestDistance = double.MaxValue;
        foreach (var m in memories)
        {
            if (m.Embedding.Length != query.Length || m.Round >= beforeRound)
            {
                continue;
            }

            var d = Vectors.CosineDistance(m.Embedding, query);
            if (d < bestDistance || (d == bestDistance && m.Round > best!.Round))
            {
                (best, bestDistance) = (m, d);
            }
        }

        return best is not null && bestDistance < threshold
            ? new MemoryRecalled { RunId = runId, AgentId = agentId, Found = true, Question = best.Question, Answer = best.Answer, Distance = bestDistance }
            : new MemoryRecalled { RunId = runId, AgentId = agentId, Found = false, Distance = best is null ? 1 : bestDistance };
    }
}

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

public sealed class RecallMemoryConsumerDefinition : RetryingConsumerDefinition<RecallMemoryConsumer>
{
    public RecallMemoryConsumerDefinition() => ConcurrentMessageLimit = 256;
}

public sealed class SeedMemoriesConsumerDefinition : RetryingConsumerDefinition<SeedMemoriesConsumer>;
