namespace StableAlignment.Storage;

public interface IRunRepository
{
    /// <summary>Creates the run; false when a run with that id already exists (nothing is changed).</summary>
    Task<bool> TryCreateAsync(RunRecord run, CancellationToken cancellationToken = default);
    Task<RunRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<RunRecord>> ListAsync(CancellationToken cancellationToken = default);
    /// <summary>
    /// Sets the status and the failure reason (cleared unless given). A status other than Running also sets
    /// <see cref="RunRecord.AnnouncePending"/> in the same write: the run's end is owed to the bus (see docs/architecture.md, outbox).
    /// </summary>
    Task SetStatusAsync(Guid id, RunStatus status, CancellationToken cancellationToken = default, string? reason = null);
    /// <summary>Clears <see cref="RunRecord.AnnouncePending"/> once the run's end has been published.</summary>
    Task MarkAnnouncedAsync(Guid id, CancellationToken cancellationToken = default);
}
