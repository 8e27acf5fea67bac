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

public interface IAgentMemoryRepository
{
    /// <summary>Inserts or replaces the agent's answer to a question (key: run, agent, question).</summary>
    Task UpsertAsync(MemoryEntry entry, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<MemoryEntry>> ListAsync(Guid runId, int agentId, CancellationToken cancellationToken = default);
}

/// <summary>Answers whether the store can be reached (health checks).</summary>
public interface IStoreProbe
{
    Task PingAsync(CancellationToken cancellationToken = default);
}
