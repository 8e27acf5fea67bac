using MongoDB.Driver;

namespace StableAlignment.IntegrationTests;

/// <summary>The shared store conformance suite against MongoDB (<c>MONGODB_URI</c>, or the emulator).</summary>
public sealed class MongoStoreConformanceTests(InfrastructureFixture fixture) : StoreConformanceTests
{
    protected override async Task<(IRunRepository, IInteractionRepository, IAgentMemoryRepository, IStoreProbe)> CreateStoreAsync()
    {
        var store = await MongoStore.OpenAsync(fixture.Infrastructure.MongoUri, $"conformance-{Guid.NewGuid():N}");
        return (store.Runs, store.Interactions, store.Memory, store.Probe);
    }

    [Fact]
    public async Task Unique_index_refuses_a_second_memory_entry_for_the_same_agent_question_and_round()
    {
        var database = $"unique-{Guid.NewGuid():N}";
        var store = await MongoStore.OpenAsync(fixture.Infrastructure.MongoUri, database);
        var entry = new MemoryEntry { Id = Guid.Empty, RunId = Guid.NewGuid(), AgentId = 1, Question = "q", Answer = "a" };
        await store.Memory.UpsertAsync(entry);

        // A writer that computes ids its own way must still not create a duplicate.
        var raw = new MongoClient(fixture.Infrastructure.MongoUri).GetDatabase(database).GetCollection<MemoryEntry>("memory");
        var e = await Assert.ThrowsAsync<MongoWriteException>(() => raw.InsertOneAsync(entry with { Id = Guid.NewGuid(), Answer = "b" }));
        Assert.Equal(ServerErrorCategory.DuplicateKey, e.WriteError.Category);
        Assert.Equal("a", Assert.Single(await store.Memory.ListAsync(entry.RunId, 1)).Answer);
    }

    [Fact]
    public async Task Run_kinds_and_initial_settings_are_stored_by_their_wire_names_and_runs_stored_as_strings_read_back()
    {
        var database = $"wire-names-{Guid.NewGuid():N}";
        var store = await MongoStore.OpenAsync(fixture.Infrastructure.MongoUri, database);
        var id = Guid.NewGuid();
        await store.Runs.TryCreateAsync(new RunRecord { Id = id, Kind = RunKind.Simulation, Simulation = new StoredSimulation { GridSize = 2, InitialSetting = InitialSetting.MixedHalfHalf }, CreatedAt = DateTime.UtcNow });
        var raw = new MongoClient(fixture.Infrastructure.MongoUri).GetDatabase(database).GetCollection<MongoDB.Bson.BsonDocument>("runs");
        var stored = await raw.Find(MongoDB.Bson.BsonDocument.Parse("{}")).SingleAsync();
        Assert.Equal("simulation", stored["kind"].AsString);
        Assert.Equal("mixed_half_half", stored["simulation"]["initialSetting"].AsString);

        // A run written when these were strings (lower case, as the code then wrote them) reads back as the enums.
        var older = Guid.NewGuid();
        stored["_id"] = new MongoDB.Bson.BsonBinaryData(older, MongoDB.Bson.GuidRepresentation.Standard);
        stored["simulation"]["initialSetting"] = "half_half";
        await raw.InsertOneAsync(stored);
        var read = await store.Runs.GetAsync(older);
        Assert.Equal(RunKind.Simulation, read!.Kind);
        Assert.Equal(InitialSetting.HalfHalf, read.Simulation!.InitialSetting);
    }
}
