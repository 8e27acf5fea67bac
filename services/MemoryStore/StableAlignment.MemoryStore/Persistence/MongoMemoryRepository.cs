using MongoDB.Driver;
using StableAlignment.Storage.Mongo;

namespace StableAlignment.MemoryStore.Persistence;

/// <summary>
/// memory-store's agent memories in the MongoDB collection <c>memory</c>. Memory ids are deterministic, and a
/// compound unique index keeps one answer per (run, agent, question, round) even for writers that compute ids
/// differently.
/// </summary>
public sealed class MongoMemoryRepository(MongoStoreDatabase database) : IAgentMemoryRepository
{
    private readonly IMongoCollection<MemoryEntry> _memory = database.Collection<MemoryEntry>("memory");

    /// <summary>Creates the collection's unique index (idempotent); called once at start-up.</summary>
    public Task EnsureIndexesAsync(CancellationToken cancellationToken = default) =>
        _memory.Indexes.CreateOneAsync(
            new CreateIndexModel<MemoryEntry>(
                Builders<MemoryEntry>.IndexKeys.Ascending(m => m.RunId).Ascending(m => m.AgentId).Ascending(m => m.Question).Ascending(m => m.Round),
                new CreateIndexOptions { Name = "run_agent_question_round", Unique = true }),
            cancellationToken: cancellationToken);

    public Task UpsertAsync(MemoryEntry entry, CancellationToken cancellationToken = default)
    {
        var keyed = entry with { Id = MemoryEntry.KeyFor(entry.RunId, entry.AgentId, entry.Question, entry.Round) };
        return _memory.ReplaceOneAsync(m => m.Id == keyed.Id, keyed, new ReplaceOptions { IsUpsert = true }, cancellationToken);
    }

    public async Task<IReadOnlyList<MemoryEntry>> ListAsync(Guid runId, int agentId, CancellationToken cancellationToken = default) =>
        await _memory.Find(m => m.RunId == runId && m.AgentId == agentId).SortBy(m => m.Round).ThenBy(m => m.UpdatedAt).ToListAsync(cancellationToken);
}
