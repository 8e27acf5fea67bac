using StableAlignment.Storage;

namespace StableAlignment.Tests;

/// <summary>The shared store conformance suite against the embedded (LiteDB) store: agent-runner's and memory-store's repositories over one file.</summary>
public sealed class EmbeddedStoreConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly List<EmbeddedStore> _stores = [];

    protected override Task<(IRunRepository, IInteractionRepository, IAgentMemoryRepository, IStoreProbe)> CreateStoreAsync()
    {
        var store = new EmbeddedStore(TestConfiguration.TempPath("store") + ".db");
        _stores.Add(store);
        return Task.FromResult<(IRunRepository, IInteractionRepository, IAgentMemoryRepository, IStoreProbe)>((store.Runs, store.Interactions, store.Memory, store.File));
    }

    [Fact]
    public async Task Records_survive_closing_and_reopening_the_file()
    {
        var path = TestConfiguration.TempPath("reopen") + ".db";
        var id = Guid.NewGuid();
        using (var store = new EmbeddedStore(path))
        {
            await store.Runs.TryCreateAsync(new RunRecord { Id = id, CreatedAt = DateTime.UtcNow });
        }

        using var reopened = new EmbeddedStore(path);
        Assert.NotNull(await reopened.Runs.GetAsync(id));
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
    }
}
