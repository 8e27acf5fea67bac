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

    [Fact]
    public async Task Run_kinds_and_initial_settings_are_stored_by_their_wire_names_and_runs_stored_as_strings_read_back()
    {
        using var store = new EmbeddedStore(TestConfiguration.TempPath("wire-names") + ".db");
        var id = Guid.NewGuid();
        var simulation = new StoredSimulation { GridSize = 2, InitialSetting = InitialSetting.MixedHalfHalf };
        await store.Runs.TryCreateAsync(new RunRecord { Id = id, Kind = RunKind.Simulation, Simulation = simulation, CreatedAt = DateTime.UtcNow });
        var raw = store.File.Collection<LiteDB.BsonDocument>("runs");
        var stored = raw.FindById(id);
        Assert.Equal("simulation", stored["Kind"].AsString);
        Assert.Equal("mixed_half_half", stored["Simulation"]["InitialSetting"].AsString);

        // A run written when these were strings (lower case, as the code then wrote them) reads back as the enums.
        var older = Guid.NewGuid();
        stored["_id"] = older;
        stored["Kind"] = "simulation";
        stored["Simulation"]["InitialSetting"] = "half_half";
        raw.Insert(stored);
        var read = await store.Runs.GetAsync(older);
        Assert.Equal(RunKind.Simulation, read!.Kind);
        Assert.Equal(InitialSetting.HalfHalf, read.Simulation!.InitialSetting);
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
    }
}
