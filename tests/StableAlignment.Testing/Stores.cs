using StableAlignment.AgentRunner.Persistence;
using StableAlignment.MemoryStore.Persistence;
using StableAlignment.Storage;
using StableAlignment.Storage.Embedded;
using StableAlignment.Storage.Mongo;

namespace StableAlignment.Testing;

/// <summary>A store file opened outside a host, with the repositories of both storing services over it.</summary>
public sealed class EmbeddedStore : IDisposable
{
    public EmbeddedStore(string path)
    {
        File = new LiteDbFile(path);
        Runs = new LiteDbRunRepository(File);
        Interactions = new LiteDbInteractionRepository(File);
        Memory = new LiteDbMemoryRepository(File);
    }

    public LiteDbFile File { get; }

    public IRunRepository Runs { get; }

    public IInteractionRepository Interactions { get; }

    public IAgentMemoryRepository Memory { get; }

    public void Dispose() => File.Dispose();
}

/// <summary>A MongoDB database with the repositories of both storing services over it, indexes made.</summary>
public sealed record MongoStore(IRunRepository Runs, IInteractionRepository Interactions, IAgentMemoryRepository Memory, IStoreProbe Probe)
{
    public static async Task<MongoStore> OpenAsync(string connectionString, string database)
    {
        var db = new MongoStoreDatabase(connectionString, database);
        var interactions = new MongoInteractionRepository(db);
        var memory = new MongoMemoryRepository(db);
        await interactions.EnsureIndexesAsync();
        await memory.EnsureIndexesAsync();
        return new MongoStore(new MongoRunRepository(db), interactions, memory, db);
    }
}
