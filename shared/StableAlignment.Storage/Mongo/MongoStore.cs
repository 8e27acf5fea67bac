using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Conventions;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;
using StableAlignment.Contracts;

namespace StableAlignment.Storage.Mongo;

/// <summary>
/// MongoDB collections <c>runs</c>, <c>interactions</c> and <c>memory</c>. Interaction and memory ids are
/// deterministic, so the unique <c>_id</c> index makes redelivery harmless; the compound unique index on
/// memory keeps one answer per (run, agent, question, round) even for writers that compute ids differently.
/// </summary>
public sealed class MongoStore : IRunRepository, IInteractionRepository, IAgentMemoryRepository, IStoreProbe
{
    private readonly IMongoDatabase _database;
    private readonly IMongoCollection<RunRecord> _runs;
    private readonly IMongoCollection<InteractionRecord> _interactions;
    private readonly IMongoCollection<MemoryEntry> _memory;

    static MongoStore()
    {
        BsonSerializer.TryRegisterSerializer(new GuidSerializer(GuidRepresentation.Standard));
        ConventionRegistry.Register(
            "stable-alignment",
            new ConventionPack
            {
                new CamelCaseElementNameConvention(),
                new IgnoreExtraElementsConvention(true),
                new EnumRepresentationConvention(BsonType.String),
            },
            t => t.Namespace?.StartsWith("StableAlignment", StringComparison.Ordinal) == true);
        BsonClassMap.TryRegisterClassMap<Rating>(cm =>
        {
            cm.AutoMap();
            cm.UnmapMember(r => r.IsValid);
        });
    }

    public MongoStore(string connectionString, string databaseName)
    {
        var settings = MongoClientSettings.FromConnectionString(connectionString);
        settings.ServerSelectionTimeout = TimeSpan.FromSeconds(10);
        _database = new MongoClient(settings).GetDatabase(databaseName);
        _runs = _database.GetCollection<RunRecord>("runs");
        _interactions = _database.GetCollection<InteractionRecord>("interactions");
        _memory = _database.GetCollection<MemoryEntry>("memory");
    }

    /// <summary>Creates the indexes (idempotent); called once at start-up.</summary>
    public async Task EnsureIndexesAsync(CancellationToken cancellationToken = default)
    {
        await _interactions.Indexes.CreateOneAsync(
            new CreateIndexModel<InteractionRecord>(
                Builders<InteractionRecord>.IndexKeys.Ascending(r => r.RunId).Ascending(r => r.Round).Ascending(r => r.AgentId),
                new CreateIndexOptions { Name = "run_round_agent" }),
            cancellationToken: cancellationToken);
        await _memory.Indexes.CreateOneAsync(
            new CreateIndexModel<MemoryEntry>(
                Builders<MemoryEntry>.IndexKeys.Ascending(m => m.RunId).Ascending(m => m.AgentId).Ascending(m => m.Question).Ascending(m => m.Round),
                new CreateIndexOptions { Name = "run_agent_question_round", Unique = true }),
            cancellationToken: cancellationToken);
    }

    public async Task<bool> TryCreateAsync(RunRecord run, CancellationToken cancellationToken = default)
    {
        try
        {
            await _runs.InsertOneAsync(run, cancellationToken: cancellationToken);
            return true;
        }
        catch (MongoWriteException e) when (e.WriteError.Category == ServerErrorCategory.DuplicateKey)
        {
            return false;
        }
    }

    public async Task<RunRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _runs.Find(r => r.Id == id).FirstOrDefaultAsync(cancellationToken);

    public async Task<IReadOnlyList<RunRecord>> ListAsync(CancellationToken cancellationToken = default) =>
        await _runs.Find(FilterDefinition<RunRecord>.Empty).SortBy(r => r.CreatedAt).ToListAsync(cancellationToken);

    public Task SetStatusAsync(Guid id, RunStatus status, CancellationToken cancellationToken = default, string? reason = null) =>
        _runs.UpdateOneAsync(
            r => r.Id == id,
            Builders<RunRecord>.Update.Set(r => r.Status, status).Set(r => r.FailureReason, reason).Set(r => r.AnnouncePending, status != RunStatus.Running),
            cancellationToken: cancellationToken);

    public Task MarkAnnouncedAsync(Guid id, CancellationToken cancellationToken = default) =>
        _runs.UpdateOneAsync(r => r.Id == id, Builders<RunRecord>.Update.Set(r => r.AnnouncePending, false), cancellationToken: cancellationToken);

    public async Task<bool> TrySaveAsync(InteractionRecord record, CancellationToken cancellationToken = default)
    {
        try
        {
            await _interactions.InsertOneAsync(record, cancellationToken: cancellationToken);
            return true;
        }
        catch (MongoWriteException e) when (e.WriteError.Category == ServerErrorCategory.DuplicateKey)
        {
            if (record.Status != InteractionStatus.Completed)
            {
                return false;
            }

            var replaced = await _interactions.ReplaceOneAsync(
                r => r.Id == record.Id && r.Status == InteractionStatus.Failed, record, cancellationToken: cancellationToken);
            return replaced.ModifiedCount == 1;
        }
    }

    async Task<InteractionRecord?> IInteractionRepository.GetAsync(Guid id, CancellationToken cancellationToken) =>
        await _interactions.Find(r => r.Id == id).FirstOrDefaultAsync(cancellationToken);

    public async Task<IReadOnlyList<InteractionRecord>> ListByRunAsync(Guid runId, CancellationToken cancellationToken = default) =>
        await _interactions.Find(r => r.RunId == runId)
            .SortBy(r => r.Round).ThenBy(r => r.AgentId).ThenBy(r => r.CompletedAt)
            .ToListAsync(cancellationToken);

    public Task<long> CountByRunAsync(Guid runId, InteractionStatus? status = null, CancellationToken cancellationToken = default) =>
        status is { } s
            ? _interactions.CountDocumentsAsync(r => r.RunId == runId && r.Status == s, cancellationToken: cancellationToken)
            : _interactions.CountDocumentsAsync(r => r.RunId == runId, cancellationToken: cancellationToken);

    public async Task<IReadOnlyList<InteractionRecord>> ListByRoundAsync(Guid runId, int round, CancellationToken cancellationToken = default) =>
        await _interactions.Find(r => r.RunId == runId && r.Round == round).SortBy(r => r.AgentId).ToListAsync(cancellationToken);

    public async Task<IReadOnlyList<InteractionRecord>> PageCompletedAsync(Guid runId, int skip, int take, CancellationToken cancellationToken = default) =>
        await _interactions.Find(r => r.RunId == runId && r.Status == InteractionStatus.Completed)
            .SortBy(r => r.Round).ThenBy(r => r.AgentId).ThenBy(r => r.CompletedAt).Skip(skip).Limit(take)
            .ToListAsync(cancellationToken);

    public Task UpsertAsync(MemoryEntry entry, CancellationToken cancellationToken = default)
    {
        var keyed = entry with { Id = MemoryEntry.KeyFor(entry.RunId, entry.AgentId, entry.Question, entry.Round) };
        return _memory.ReplaceOneAsync(m => m.Id == keyed.Id, keyed, new ReplaceOptions { IsUpsert = true }, cancellationToken);
    }

    public async Task<IReadOnlyList<MemoryEntry>> ListAsync(Guid runId, int agentId, CancellationToken cancellationToken = default) =>
        await _memory.Find(m => m.RunId == runId && m.AgentId == agentId).SortBy(m => m.Round).ThenBy(m => m.UpdatedAt).ToListAsync(cancellationToken);

    public Task PingAsync(CancellationToken cancellationToken = default) =>
        _database.RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), cancellationToken: cancellationToken);
}
