using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration.Memory;
using StableAlignment.AgentRunner;
using StableAlignment.DatasetBuilder;
using StableAlignment.Evaluator;
using StableAlignment.Gateway;
using StableAlignment.Hosting;
using StableAlignment.MemoryStore;
using StableAlignment.ObserverRater;
using StableAlignment.Storage;
using StableAlignment.Trainer;

namespace StableAlignment.SingleProcess;

/// <summary>
/// Every service's library in one process: the same consumers and HTTP endpoints as the separate hosts, on
/// whichever bus and store the configuration names (by default the in-memory transport and the embedded store).
/// </summary>
public static class SingleProcessHost
{
    public static WebApplicationBuilder AddAllServices(this WebApplicationBuilder builder)
    {
        // One process: the trainer reads dataset-builder's folder, so a dataset travels once, by its location (the
        // claim check in DatasetBuilt), not again as triplet batches. A default only: every configuration source overrides it.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { [$"{DatasetOptions.Section}:{nameof(DatasetOptions.Delivery)}"] = nameof(DatasetDelivery.Shared) },
        });
        builder.AddServiceDefaults();
        builder.Services.AddStableAlignmentStorage().AddAgentRunner().AddObserverRater().AddMemoryStore().AddDatasetBuilder().AddTrainer().AddEvaluator().AddGatewayCore();
        builder.Services.AddStableAlignmentBus(builder.Configuration, bus =>
        {
            bus.AddAgentRunnerConsumers();
            bus.AddObserverRaterConsumers();
            bus.AddMemoryStoreConsumers();
            bus.AddDatasetBuilderConsumers();
            bus.AddTrainerConsumers();
            bus.AddEvaluatorConsumers();
        });
        return builder;
    }

    public static WebApplication MapAllServices(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.UseGatewaySecurity();
        app.MapQuestionsApi();
        app.MapDashboard();
        app.MapMemoryStoreApi();
        app.MapAgentRunnerApi();
        app.MapDatasetBuilderApi();
        app.MapTrainerApi();
        app.MapEvaluatorApi();
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = ServiceDefaults.WriteJson });
        return app;
    }
}
