using MongoDB.Driver;
using StableAlignment.Storage.Mongo;

namespace StableAlignment.MemoryStore.Persistence;

/// <summary>
/// memory-store's interaction records in the MongoDB collection <c>interactions</c>. Interaction ids are
/// deterministic, so the unique <c>_id</c> makes a redelivered record harmless.
/// </summary>
public sealed class MongoInteractionRepository(MongoStoreDatabase database) : IInteractionRepository
{
    private readonly IMongoCollection<InteractionRecord> _interactions = database.Collection<InteractionRecord>("interactions");

    /// <summary>Creates the collection's index (idempotent); called once at start-up.</summary>
    public Task EnsureIndexesAsync(CancellationToken cancellationToken = default) =>
        _interactions.Indexes.CreateOneAsync(
            new CreateIndexModel<InteractionRecord>(
                Builders<InteractionRecord>.IndexKeys.Ascending(r => r.RunId).Ascending(r => r.Round).Ascending(r => r.AgentId),
                new CreateIndexOptions { Name = "run_round_agent" }),
            cancellationToken: cancellationToken);

    public async Task<bool> TrySaveAsync(InteractionRecord record, CancellationToken cancellationToken = default)
    {
        try
        {
            await _interactions.InsertOneAsync(record, cancellationToken: cancellationToken);
            return true;
        }
        catch (MongoWriteException e) when (MongoStoreDatabase.IsDuplicate(e))
        {
            if (record.Status != InteractionStatus.Completed)
            {
                return false;
            }

            var replaced = await _interactions.ReplaceOneAsync(
                r => r.Id == record.Id && r.Status == InteractionStatus.Failed, record, cancellationToken: cancellationToken);
            return replaced.ModifiedCount == 1;
        }
    }

    public async Task<InteractionRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _interactions.Find(r => r.Id == id).FirstOrDefaultAsync(cancellationToken);

    public async Task<IReadOnlyList<InteractionRecord>> ListByRunAsync(Guid runId, CancellationToken cancellationToken = default) =>
        await _interactions.Find(r => r.RunId == runId)
            .SortBy(r => r.Round).ThenBy(r => r.AgentId).ThenBy(r => r.CompletedAt)
            .ToListAsync(cancellationToken);

    public Task<long> CountByRunAsync(Guid runId, InteractionStatus? status = null, CancellationToken cancellationToken = default) =>
        status is { } s
            ? _interactions.CountDocumentsAsync(r => r.RunId == runId && r.Status == s, cancellationToken: cancellationToken)
            : _interactions.CountDocumentsAsync(r => r.RunId == runId, cancellationToken: cancellationToken);

    public async Task<IReadOnlyList<InteractionRecord>> ListByRoundAsync(Guid runId, int round, CancellationToken cancellationToken = default) =>
        await _interactions.Find(r => r.RunId == runId && r.Round == round).SortBy(r => r.AgentId).ToListAsync(cancellationToken);

    public async Task<IReadOnlyList<InteractionRecord>> PageCompletedAsync(Guid runId, int skip, int take, CancellationToken cancellationToken = default) =>
        await _interactions.Find(r => r.RunId == runId && r.Status == InteractionStatus.Completed)
            .SortBy(r => r.Round).ThenBy(r => r.AgentId).ThenBy(r => r.CompletedAt).Skip(skip).Limit(take)
            .ToListAsync(cancellationToken);
}
