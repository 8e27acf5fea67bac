namespace StableAlignment.Storage;

public interface IAgentMemoryRepository
{
    /// <summary>Inserts or replaces the agent's answer to a question (key: run, agent, question).</summary>
    Task UpsertAsync(MemoryEntry entry, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<MemoryEntry>> ListAsync(Guid runId, int agentId, CancellationToken cancellationToken = default);
}
