using LiteDB;
using StableAlignment.Storage.Embedded;

namespace StableAlignment.AgentRunner.Persistence;

/// <summary>agent-runner's runs in the embedded store's collection <c>runs</c>.</summary>
public sealed class LiteDbRunRepository(LiteDbFile file) : IRunRepository
{
    private readonly ILiteCollection<RunRecord> _runs = file.Collection<RunRecord>("runs", r => r.CreatedAt);

    public Task<bool> TryCreateAsync(RunRecord run, CancellationToken cancellationToken = default) =>
        file.LockedAsync(() =>
        {
            if (_runs.FindById(run.Id) is not null)
            {
                return false;
            }

            _runs.Insert(run);
            return true;
        });

    public Task<RunRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        file.LockedAsync<RunRecord?>(() => _runs.FindById(id));

    public Task<IReadOnlyList<RunRecord>> ListAsync(CancellationToken cancellationToken = default) =>
        file.LockedAsync<IReadOnlyList<RunRecord>>(() => _runs.Query().OrderBy(r => r.CreatedAt).ToList());

    public Task SetStatusAsync(Guid id, RunStatus status, CancellationToken cancellationToken = default, string? reason = null) =>
        Update(id, run => run with { Status = status, FailureReason = reason, AnnouncePending = status != RunStatus.Running });

    public Task MarkAnnouncedAsync(Guid id, CancellationToken cancellationToken = default) =>
        Update(id, run => run with { AnnouncePending = false });

    private Task Update(Guid id, Func<RunRecord, RunRecord> change) =>
        file.LockedAsync(() => _runs.FindById(id) is { } run && _runs.Update(change(run)));
}
