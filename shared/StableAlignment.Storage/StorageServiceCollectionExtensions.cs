using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StableAlignment.Storage.Embedded;
using StableAlignment.Storage.Mongo;

namespace StableAlignment.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>Registers the configured database (embedded file or MongoDB) and a "storage" readiness check; each storing service adds its own repositories (<see cref="AddRepository"/>).</summary>
    public static IServiceCollection AddStableAlignmentStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.Section)
            .ValidateDataAnnotations()
            .Validate(
                o => o.Provider != StorageProvider.MongoDb || !string.IsNullOrWhiteSpace(o.ConnectionString),
                "Storage:ConnectionString is required when Storage:Provider is MongoDb (e.g. mongodb://localhost:27017).")
            .ValidateOnStart();

        services.AddSingleton(sp => new LiteDbFile(sp.GetRequiredService<IOptions<StorageOptions>>().Value.EmbeddedPath));
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new MongoStoreDatabase(o.ConnectionString!, o.Database);
        });
        services.AddSingleton<IStoreProbe>(sp => Embedded(sp) ? sp.GetRequiredService<LiteDbFile>() : sp.GetRequiredService<MongoStoreDatabase>());
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("storage", tags: ["ready"]);
        return services;
    }

    /// <summary>
    /// Registers a storing service's own repository: its embedded or its MongoDB implementation, as
    /// <c>Storage:Provider</c> says, over the database that <see cref="AddStableAlignmentStorage"/> registered.
    /// </summary>
    public static IServiceCollection AddRepository<TRepository>(
        this IServiceCollection services, Func<LiteDbFile, TRepository> embedded, Func<MongoStoreDatabase, TRepository> mongo)
        where TRepository : class =>
        services.AddSingleton(sp => Embedded(sp) ? embedded(sp.GetRequiredService<LiteDbFile>()) : mongo(sp.GetRequiredService<MongoStoreDatabase>()));

    private static bool Embedded(IServiceProvider sp) => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.Embedded;

    private sealed class StoreHealthCheck(IStoreProbe probe) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await probe.PingAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e)
            {
                return HealthCheckResult.Unhealthy("store unreachable", e);
            }
        }
    }
}
