using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace StableAlignment.Models;

public static class ModelServiceCollectionExtensions
{
    /// <summary>Retries after the first attempt, on 429, 5xx and timeouts (jittered exponential back-off from 200 ms).</summary>
    public const int MaxRetryAttempts = 3;

    /// <summary>Every attempt's timeout, the back-off between them (at most ~2 s in all) and a margin.</summary>
    public static TimeSpan OverallTimeout(ModelsOptions o) =>
        TimeSpan.FromSeconds((o.TimeoutSeconds * (MaxRetryAttempts + 1)) + 10);

    /// <summary>Registers the model catalog for the "Models" section, with timeouts and retries on the HTTP calls.</summary>
    public static IServiceCollection AddStableAlignmentModels(this IServiceCollection services)
    {
        // Several service libraries ask for models in the single-process host: register once, or the HTTP
        // handlers would nest and multiply the retries.
        if (services.Any(d => d.ServiceType == typeof(EndpointThrottle)))
        {
            return services;
        }

        services.AddOptions<ModelsOptions>().BindConfiguration(ModelsOptions.Section);
        foreach (var role in Enum.GetValues<ModelRole>())
        {
            services.AddHttpClient(ConfiguredModelCatalog.ClientName(role))
                // The client's own deadline covers every attempt (the default 100 s would cut the retries short).
                .ConfigureHttpClient((sp, client) => client.Timeout = OverallTimeout(sp.GetRequiredService<IOptions<ModelsOptions>>().Value))
                .AddResilienceHandler(ConfiguredModelCatalog.ClientName(role), (builder, context) =>
                {
                    var timeout = TimeSpan.FromSeconds(context.ServiceProvider.GetRequiredService<IOptions<ModelsOptions>>().Value.TimeoutSeconds);
                    builder.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = MaxRetryAttempts,
                        UseJitter = true,
                        Delay = TimeSpan.FromMilliseconds(200),
                        BackoffType = DelayBackoffType.Exponential,
                    });
                    builder.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                    {
                        FailureRatio = 0.9,
                        MinimumThroughput = 20,
                        SamplingDuration = TimeSpan.FromSeconds(30),
                        BreakDuration = TimeSpan.FromSeconds(5),
                    });
                    builder.AddTimeout(timeout);
                })
                .SelectPipelineByAuthority();
        }

        services.TryAddSingleton<EndpointThrottle>();
        services.TryAddSingleton<IModelCatalog, ConfiguredModelCatalog>();
        return services;
    }
}
