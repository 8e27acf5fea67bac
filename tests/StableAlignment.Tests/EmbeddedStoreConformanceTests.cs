using StableAlignment.Storage;
using StableAlignment.Storage.Embedded;
using StableAlignment.Testing;

namespace StableAlignment.Tests;

/// <summary>The shared store conformance suite against the embedded (LiteDB) store.</summary>
public sealed class EmbeddedStoreConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly List<LiteDbStore> _stores = [];

    protected override Task<(IRunRepository, IInteractionRepository, IAgentMemoryRepository, IStoreProbe)> CreateStoreAsync()
    {
        var store = new LiteDbStore(TestConfiguration.TempPath("store") + ".db");
        _stores.Add(store);
        return Task.FromResult<(IRunRepository, IInteractionRepository, IAgentMemoryRepository, IStoreProbe)>((store, store, store, store));
    }

    [Fact]
    public async Task Records_survive_closing_and_reopening_the_file()
    {
        var path = TestConfiguration.TempPath("reopen") + ".db";
        var id = Guid.NewGuid();
        using (var store = new LiteDbStore(path))
        {
            await store.TryCreateAsync(new RunRecord { Id = id, CreatedAt = DateTime.UtcNow });
        }

        using var reopened = new LiteDbStore(path);
        Assert.NotNull(await reopened.GetAsync(id));
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
    }
}
