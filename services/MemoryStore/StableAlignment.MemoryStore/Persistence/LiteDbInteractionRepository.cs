using LiteDB;
using StableAlignment.Storage.Embedded;

namespace StableAlignment.MemoryStore.Persistence;

/// <summary>memory-store's interaction records in the embedded store's collection <c>interactions</c>.</summary>
public sealed class LiteDbInteractionRepository(LiteDbFile file) : IInteractionRepository
{
    private readonly ILiteCollection<InteractionRecord> _interactions = file.Collection<InteractionRecord>("interactions", r => r.RunId);

    public Task<bool> TrySaveAsync(InteractionRecord record, CancellationToken cancellationToken = default) =>
        file.LockedAsync(() =>
        {
            var existing = _interactions.FindById(record.Id);
            if (existing is null)
            {
                _interactions.Insert(record);
                return true;
            }

            // A completed record replaces a failed one (a retried interaction); nothing else is overwritten.
            return existing.Status == InteractionStatus.Failed && record.Status == InteractionStatus.Completed && _interactions.Update(record);
        });

    public Task<InteractionRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        file.LockedAsync<InteractionRecord?>(() => _interactions.FindById(id));

    public Task<IReadOnlyList<InteractionRecord>> ListByRunAsync(Guid runId, CancellationToken cancellationToken = default) =>
        file.LockedAsync<IReadOnlyList<InteractionRecord>>(() =>
            [.. _interactions.Find(r => r.RunId == runId).OrderBy(r => r.Round).ThenBy(r => r.AgentId).ThenBy(r => r.CompletedAt)]);

    public Task<long> CountByRunAsync(Guid runId, InteractionStatus? status = null, CancellationToken cancellationToken = default) =>
        file.LockedAsync<long>(() => status is { } s
            ? _interactions.Count(r => r.RunId == runId && r.Status == s)
            : _interactions.Count(r => r.RunId == runId));

    public Task<IReadOnlyList<InteractionRecord>> ListByRoundAsync(Guid runId, int round, CancellationToken cancellationToken = default) =>
        file.LockedAsync<IReadOnlyList<InteractionRecord>>(() =>
            [.. _interactions.Find(r => r.RunId == runId && r.Round == round).OrderBy(r => r.AgentId)]);

    public Task<IReadOnlyList<InteractionRecord>> PageCompletedAsync(Guid runId, int skip, int take, CancellationToken cancellationToken = default) =>
        file.LockedAsync<IReadOnlyList<InteractionRecord>>(() =>
        [
            .. _interactions.Find(r => r.RunId == runId && r.Status == InteractionStatus.Completed)
                .OrderBy(r => r.Round).ThenBy(r => r.AgentId).ThenBy(r => r.CompletedAt).Skip(skip).Take(take),
        ]);
}
