using LiteDB;
using StableAlignment.Storage.Embedded;

namespace StableAlignment.MemoryStore.Persistence;

/// <summary>memory-store's agent memories in the embedded store's collection <c>memory</c>.</summary>
public sealed class LiteDbMemoryRepository(LiteDbFile file) : IAgentMemoryRepository
{
    private readonly ILiteCollection<MemoryEntry> _memory = file.Collection<MemoryEntry>("memory", m => m.RunId);
    private readonly Dictionary<(Guid RunId, int AgentId), IReadOnlyList<MemoryEntry>> _cache = [];

    public Task UpsertAsync(MemoryEntry entry, CancellationToken cancellationToken = default)
    {
        var keyed = entry with { Id = MemoryEntry.KeyFor(entry.RunId, entry.AgentId, entry.Question, entry.Round) };
        return file.LockedAsync(() =>
        {
            _memory.Upsert(keyed);
            return _cache.Remove((entry.RunId, entry.AgentId));
        });
    }

    /// <summary>
    /// An agent's memories are read on every recall (the agent's and each peer's), so they are kept decoded here
    /// after the first read; an upsert drops that agent's entry. One process owns the file, so nothing else can
    /// make the copy stale.
    /// </summary>
    public Task<IReadOnlyList<MemoryEntry>> ListAsync(Guid runId, int agentId, CancellationToken cancellationToken = default) =>
        file.LockedAsync(() =>
        {
            if (!_cache.TryGetValue((runId, agentId), out var list))
            {
                list = [.. _memory.Find(m => m.RunId == runId && m.AgentId == agentId).OrderBy(m => m.Round).ThenBy(m => m.UpdatedAt)];
                _cache[(runId, agentId)] = list;
            }

            return list;
        });
}
