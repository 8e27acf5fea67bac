using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StableAlignment.Storage.Embedded;
using StableAlignment.Storage.Mongo;

namespace StableAlignment.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>Registers the repositories for the configured provider and a "storage" readiness check.</summary>
    public static IServiceCollection AddStableAlignmentStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.Section)
            .ValidateDataAnnotations()
            .Validate(
                o => o.Provider != StorageProvider.MongoDb || !string.IsNullOrWhiteSpace(o.ConnectionString),
                "Storage:ConnectionString is required when Storage:Provider is MongoDb (e.g. mongodb://localhost:27017).")
            .ValidateOnStart();

        services.AddKeyedSingleton<object>(StoreKey, (sp, _) =>
        {
            var o = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            if (o.Provider == StorageProvider.Embedded)
            {
                return new LiteDbStore(o.EmbeddedPath);
            }

            var mongo = new MongoStore(o.ConnectionString!, o.Database);
            mongo.EnsureIndexesAsync().GetAwaiter().GetResult();
            return mongo;
        });
        services.AddSingleton(sp => (IRunRepository)sp.GetRequiredKeyedService<object>(StoreKey));
        services.AddSingleton(sp => (IInteractionRepository)sp.GetRequiredKeyedService<object>(StoreKey));
        services.AddSingleton(sp => (IAgentMemoryRepository)sp.GetRequiredKeyedService<object>(StoreKey));
        services.AddSingleton(sp => (IStoreProbe)sp.GetRequiredKeyedService<object>(StoreKey));
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("storage", tags: ["ready"]);
        return services;
    }

    private const string StoreKey = "stable-alignment-store";

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
