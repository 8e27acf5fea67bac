namespace StableAlignment.MemoryStore;

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
