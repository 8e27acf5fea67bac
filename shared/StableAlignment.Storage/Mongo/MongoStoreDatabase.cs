using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Conventions;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;
using StableAlignment.Contracts;

namespace StableAlignment.Storage.Mongo;

/// <summary>
/// The MongoDB database the storing services share, with the project's mapping conventions (camelCase fields, enums
/// as strings, standard GUIDs). Each service owns its collections through its own repositories (agent-runner:
/// <c>runs</c>; memory-store: <c>interactions</c>, <c>memory</c>).
/// </summary>
public sealed class MongoStoreDatabase : IStoreProbe
{
    private readonly IMongoDatabase _database;

    static MongoStoreDatabase()
    {
        BsonSerializer.TryRegisterSerializer(new GuidSerializer(GuidRepresentation.Standard));
        BsonSerializer.TryRegisterSerializer(new WireEnumSerializer<RunKind>());
        BsonSerializer.TryRegisterSerializer(new WireEnumSerializer<InitialSetting>());
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

    public MongoStoreDatabase(string connectionString, string databaseName)
    {
        var settings = MongoClientSettings.FromConnectionString(connectionString);
        settings.ServerSelectionTimeout = TimeSpan.FromSeconds(10);
        _database = new MongoClient(settings).GetDatabase(databaseName);
    }

    public IMongoCollection<T> Collection<T>(string name) => _database.GetCollection<T>(name);

    public Task PingAsync(CancellationToken cancellationToken = default) =>
        _database.RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), cancellationToken: cancellationToken);

    /// <summary>True when an insert failed on a unique index (a record stored already).</summary>
    public static bool IsDuplicate(MongoWriteException e) => e.WriteError.Category == ServerErrorCategory.DuplicateKey;
}
