using LiteDB;
using StableAlignment.Contracts;

namespace StableAlignment.Storage.Embedded;

/// <summary>
/// The single-process store: one LiteDB file, document-shaped like the MongoDB collections, shared by the storing
/// services' repositories (agent-runner: <c>runs</c>; memory-store: <c>interactions</c>, <c>memory</c>). LiteDB is
/// synchronous and its concurrent use has known faults (pages read while a collection is being created), so every
/// operation takes this file's one lock: calls complete inline in microseconds, well below the pipeline's other costs.
/// </summary>
public sealed class LiteDbFile : IStoreProbe, IDisposable
{
    private readonly LiteDatabase _db;
    private readonly FileStream _owner;
    private readonly string _path;
    private readonly Lock _lock = new();

    public LiteDbFile(string path)
    {
        var full = _path = Path.GetFullPath(path);
        if (File.Exists(full) && new FileInfo(full).Length < 8192)
        {
            // LiteDB would take a zero-byte or cut-off file for a new store and write over it: what was there is never silently lost.
            throw new InvalidDataException($"{full}: the store file has {new FileInfo(full).Length} bytes, less than one LiteDB page: it is empty or truncated. Move it away to start a new store.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _owner = Claim(full);
        var mapper = new BsonMapper { EnumAsInteger = false };
        WireNames<RunKind>(mapper);
        WireNames<InitialSetting>(mapper);
        try
        {
            _db = new LiteDatabase(new ConnectionString { Filename = full, Connection = ConnectionType.Direct }, mapper);
            _db.UtcDate = true;
            // The header and the collection catalogue are read here, so a file that is no store is refused at open.
            _ = _db.GetCollectionNames().ToList();
        }
        catch (Exception e) when (Unreadable(e))
        {
            _db?.Dispose();
            Release(_owner);
            throw new InvalidDataException($"{full}: not a readable store file ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    /// <summary>Stores an enum by its wire name and reads it case-insensitively, as the Mongo store does (<see cref="WireEnumSerializer{T}"/>).</summary>
    private static void WireNames<T>(BsonMapper mapper) where T : struct, Enum =>
        mapper.RegisterType(value => new BsonValue(WireEnum<T>.Name(value)), bson => WireEnum<T>.Parse(bson.AsString, $"a stored {typeof(T).Name}"));

    /// <summary>A collection, with the indexes its owner needs made sure of; a damaged file is refused as at open.</summary>
    public ILiteCollection<T> Collection<T>(string name, params System.Linq.Expressions.Expression<Func<T, object>>[] indexes) =>
        Locked(() =>
        {
            try
            {
                var collection = _db.GetCollection<T>(name);
                foreach (var index in indexes)
                {
                    collection.EnsureIndex(index);
                }

                return collection;
            }
            catch (Exception e) when (Unreadable(e))
            {
                throw new InvalidDataException($"{_path}: not a readable store file ({e.GetType().Name}: {e.Message}).", e);
            }
        });

    /// <summary>What LiteDB throws on a file that is not a store or is damaged.</summary>
    private static bool Unreadable(Exception e) =>
        e is LiteException or InvalidCastException or IOException or ArgumentException or InvalidOperationException or IndexOutOfRangeException;

    public T Locked<T>(Func<T> work)
    {
        lock (_lock)
        {
            return work();
        }
    }

    public Task<T> LockedAsync<T>(Func<T> work) => Task.FromResult(Locked(work));

    public Task PingAsync(CancellationToken cancellationToken = default) => LockedAsync(() => _db.GetCollectionNames().Count());

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
