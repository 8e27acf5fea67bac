using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace StableAlignment.Models;

public static class ModelServiceCollectionExtensions
{
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
        services.AddHttpClient(ConfiguredModelCatalog.HttpClientName)
            .AddResilienceHandler("models", (builder, context) =>
            {
                var timeout = TimeSpan.FromSeconds(context.ServiceProvider.GetRequiredService<IOptions<ModelsOptions>>().Value.TimeoutSeconds);
                builder.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 3,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(200),
                    BackoffType = Polly.DelayBackoffType.Exponential,
                });
                builder.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.9,
                    MinimumThroughput = 20,
                    SamplingDuration = TimeSpan.FromSeconds(30),
                    BreakDuration = TimeSpan.FromSeconds(5),
                });
                builder.AddTimeout(timeout);
            });
        services.TryAddSingleton<EndpointThrottle>();
        services.TryAddSingleton<IModelCatalog, ConfiguredModelCatalog>();
        return services;
    }
}
