namespace StableAlignment.Storage;

public interface IInteractionRepository
{
    /// <summary>
    /// Stores the record once. Returns false, changing nothing, when a record with the same id exists —
    /// except that a completed record replaces a failed one (a retried interaction).
    /// </summary>
    Task<bool> TrySaveAsync(InteractionRecord record, CancellationToken cancellationToken = default);
    Task<InteractionRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default);
    /// <summary>The run's records ordered by round, then agent.</summary>
    Task<IReadOnlyList<InteractionRecord>> ListByRunAsync(Guid runId, CancellationToken cancellationToken = default);
    Task<long> CountByRunAsync(Guid runId, InteractionStatus? status = null, CancellationToken cancellationToken = default);
    /// <summary>The records of one round, ordered by agent.</summary>
    Task<IReadOnlyList<InteractionRecord>> ListByRoundAsync(Guid runId, int round, CancellationToken cancellationToken = default);
    /// <summary>A page of the run's completed records in the order of <see cref="ListByRunAsync"/>.</summary>
    Task<IReadOnlyList<InteractionRecord>> PageCompletedAsync(Guid runId, int skip, int take, CancellationToken cancellationToken = default);
}
