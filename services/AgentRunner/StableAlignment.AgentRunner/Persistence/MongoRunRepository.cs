using MongoDB.Driver;
using StableAlignment.Storage.Mongo;

namespace StableAlignment.AgentRunner.Persistence;

/// <summary>agent-runner's runs in the MongoDB collection <c>runs</c>.</summary>
public sealed class MongoRunRepository(MongoStoreDatabase database) : IRunRepository
{
    private readonly IMongoCollection<RunRecord> _runs = database.Collection<RunRecord>("runs");

    public async Task<bool> TryCreateAsync(RunRecord run, CancellationToken cancellationToken = default)
    {
        try
        {
            await _runs.InsertOneAsync(run, cancellationToken: cancellationToken);
            return true;
        }
        catch (MongoWriteException e) when (MongoStoreDatabase.IsDuplicate(e))
        {
            return false;
        }
    }

    public async Task<RunRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _runs.Find(r => r.Id == id).FirstOrDefaultAsync(cancellationToken);

    public async Task<IReadOnlyList<RunRecord>> ListAsync(CancellationToken cancellationToken = default) =>
        await _runs.Find(FilterDefinition<RunRecord>.Empty).SortBy(r => r.CreatedAt).ToListAsync(cancellationToken);

    public Task SetStatusAsync(Guid id, RunStatus status, CancellationToken cancellationToken = default, string? reason = null) =>
        _runs.UpdateOneAsync(
            r => r.Id == id,
            Builders<RunRecord>.Update.Set(r => r.Status, status).Set(r => r.FailureReason, reason).Set(r => r.AnnouncePending, status != RunStatus.Running),
            cancellationToken: cancellationToken);

    public Task MarkAnnouncedAsync(Guid id, CancellationToken cancellationToken = default) =>
        _runs.UpdateOneAsync(r => r.Id == id, Builders<RunRecord>.Update.Set(r => r.AnnouncePending, false), cancellationToken: cancellationToken);
}
