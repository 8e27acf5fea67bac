using LiteDB;

namespace StableAlignment.Storage.Embedded;

/// <summary>
/// The single-process store: one LiteDB file, document-shaped like the MongoDB collections. LiteDB is synchronous
/// and its concurrent use has known faults (pages read while a collection is being created), so every operation
/// takes one lock: calls complete inline in microseconds, well below the pipeline's other costs.
/// </summary>
public sealed class LiteDbStore : IRunRepository, IInteractionRepository, IAgentMemoryRepository, IStoreProbe, IDisposable
{
    private readonly LiteDatabase _db;
    private readonly FileStream _owner;
    private readonly ILiteCollection<RunRecord> _runs;
    private readonly ILiteCollection<InteractionRecord> _interactions;
    private readonly ILiteCollection<MemoryEntry> _memory;
    private readonly Lock _lock = new();
    private readonly Dictionary<(Guid RunId, int AgentId), IReadOnlyList<MemoryEntry>> _memoryCache = [];

    public LiteDbStore(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) && new FileInfo(full).Length < 8192)
        {
            // LiteDB would take a zero-byte or cut-off file for a new store and write over it: what was there is never silently lost.
            throw new InvalidDataException($"{full}: the store file has {new FileInfo(full).Length} bytes, less than one LiteDB page: it is empty or truncated. Move it away to start a new store.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _owner = Claim(full);
        var mapper = new BsonMapper { EnumAsInteger = false };
        try
        {
            _db = new LiteDatabase(new ConnectionString { Filename = full, Connection = ConnectionType.Direct }, mapper);
            _db.UtcDate = true;
            _runs = _db.GetCollection<RunRecord>("runs");
            _interactions = _db.GetCollection<InteractionRecord>("interactions");
            _interactions.EnsureIndex(r => r.RunId);
            _memory = _db.GetCollection<MemoryEntry>("memory");
            _memory.EnsureIndex(m => m.RunId);
            _runs.EnsureIndex(r => r.CreatedAt);
        }
        catch (Exception e) when (e is LiteException or InvalidCastException or IOException or ArgumentException or InvalidOperationException or IndexOutOfRangeException)
        {
            _db?.Dispose();
            Release(_owner);
            throw new InvalidDataException($"{full}: not a readable store file ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    public Task<bool> TryCreateAsync(RunRecord run, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_runs.FindById(run.Id) is not null)
            {
                return Task.FromResult(false);
            }

            _runs.Insert(run);
            return Task.FromResult(true);
        }
    }

    public Task<RunRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        Locked<RunRecord?>(() => _runs.FindById(id));

    public Task<IReadOnlyList<RunRecord>> ListAsync(CancellationToken cancellationToken = default) =>
        Locked<IReadOnlyList<RunRecord>>(() => _runs.Query().OrderBy(r => r.CreatedAt).ToList());

    public Task SetStatusAsync(Guid id, RunStatus status, CancellationToken cancellationToken = default, string? reason = null)
    {
        lock (_lock)
        {
            if (_runs.FindById(id) is { } run)
            {
                _runs.Update(run with { Status = status, FailureReason = reason, AnnouncePending = status != RunStatus.Running });
            }
        }

        return Task.CompletedTask;
    }

    public Task MarkAnnouncedAsync(Guid id, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_runs.FindById(id) is { } run)
            {
                _runs.Update(run with { AnnouncePending = false });
            }
        }

        return Task.CompletedTask;
    }

    public Task<bool> TrySaveAsync(InteractionRecord record, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var existing = _interactions.FindById(record.Id);
            if (existing is null)
            {
                _interactions.Insert(record);
                return Task.FromResult(true);
            }

            if (existing.Status == InteractionStatus.Failed && record.Status == InteractionStatus.Completed)
            {
                _interactions.Update(record);
                return Task.FromResult(true);
            }

            return Task.FromResult(false);
        }
    }

    Task<InteractionRecord?> IInteractionRepository.GetAsync(Guid id, CancellationToken cancellationToken) =>
        Locked<InteractionRecord?>(() => _interactions.FindById(id));

    public Task<IReadOnlyList<InteractionRecord>> ListByRunAsync(Guid runId, CancellationToken cancellationToken = default) =>
        Locked<IReadOnlyList<InteractionRecord>>(() =>
            [.. _interactions.Find(r => r.RunId == runId).OrderBy(r => r.Round).ThenBy(r => r.AgentId).ThenBy(r => r.CompletedAt)]);

    public Task<long> CountByRunAsync(Guid runId, InteractionStatus? status = null, CancellationToken cancellationToken = default) =>
        Locked<long>(() => status is { } s
            ? _interactions.Count(r => r.RunId == runId && r.Status == s)
            : _interactions.Count(r => r.RunId == runId));

    public Task<IReadOnlyList<InteractionRecord>> ListByRoundAsync(Guid runId, int round, CancellationToken cancellationToken = default) =>
        Locked<IReadOnlyList<InteractionRecord>>(() =>
            [.. _interactions.Find(r => r.RunId == runId && r.Round == round).OrderBy(r => r.AgentId)]);

    public Task<IReadOnlyList<InteractionRecord>> PageCompletedAsync(Guid runId, int skip, int take, CancellationToken cancellationToken = default) =>
        Locked<IReadOnlyList<InteractionRecord>>(() =>
        [
            .. _interactions.Find(r => r.RunId == runId && r.Status == InteractionStatus.Completed)
                .OrderBy(r => r.Round).ThenBy(r => r.AgentId).ThenBy(r => r.CompletedAt).Skip(skip).Take(take),
        ]);

    public Task UpsertAsync(MemoryEntry entry, CancellationToken cancellationToken = default)
    {
        var keyed = entry with { Id = MemoryEntry.KeyFor(entry.RunId, entry.AgentId, entry.Question, entry.Round) };
        lock (_lock)
        {
            _memory.Upsert(keyed);
            _memoryCache.Remove((entry.RunId, entry.AgentId));
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// An agent's memories are read on every recall (the agent's and each peer's), so they are kept decoded here
    /// after the first read; an upsert drops that agent's entry. One process owns the file, so nothing else can
    /// make the copy stale.
    /// </summary>
    public Task<IReadOnlyList<MemoryEntry>> ListAsync(Guid runId, int agentId, CancellationToken cancellationToken = default) =>
        Locked(() =>
        {
            if (!_memoryCache.TryGetValue((runId, agentId), out var list))
            {
                list = [.. _memory.Find(m => m.RunId == runId && m.AgentId == agentId).OrderBy(m => m.Round).ThenBy(m => m.UpdatedAt)];
                _memoryCache[(runId, agentId)] = list;
            }

            return list;
        });

    public Task PingAsync(CancellationToken cancellationToken = default) => Locked(() => _runs.Count());

    private Task<T> Locked<T>(Func<T> read)
    {
        lock (_lock)
        {
            return Task.FromResult(read());
        }
    }

    public void Dispose()
    {
        _db.Dispose();
        Release(_owner);
    }

    private static void Release(FileStream owner)
    {
        File.Delete(owner.Name + ".pid");
        File.Delete(owner.Name);
        owner.Dispose();
    }

    /// <summary>
    /// One process writes a store file: an exclusive lock on <c>FILE.owner</c> (released by the OS when the process
    /// dies, so a crash never leaves it stale). A second process gets a clear refusal instead of a diverging view.
    /// </summary>
    private static FileStream Claim(string full)
    {
        var path = full + ".owner";
        try
        {
            var owner = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            // The lock file cannot be read by others while held, so the holder's id goes beside it.
            File.WriteAllText(path + ".pid", $"{Environment.ProcessId}\n");
            return owner;
        }
        catch (IOException)
        {
            var pid = File.Exists(path + ".pid") ? File.ReadAllText(path + ".pid").Trim() : null;
            var holder = pid is { Length: > 0 } ? $"process {pid}" : "another process";
            throw new StoreInUseException($"{full} is in use by {holder} (an 'sa serve' or another command in this folder). Stop it, or talk to it: sa runs --gateway URL, sa ask --gateway URL.");
        }
    }
}

/// <summary>The embedded store file is held by another process.</summary>
public sealed class StoreInUseException(string message) : IOException(message);
