using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.Contracts;
using StableAlignment.Models;
using StableAlignment.Storage;

namespace StableAlignment.AgentRunner;

public static class AgentRunnerRegistration
{
    public static IServiceCollection AddAgentRunner(this IServiceCollection services)
    {
        services.AddOptions<PromptOptions>().BindConfiguration(PromptOptions.Section);
        services.AddStableAlignmentModels();
        return services;
    }

    public static void AddAgentRunnerConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<QuestionPosedConsumer, QuestionPosedConsumerDefinition>();
        bus.AddRequestClient<RateAnswer>(RequestTimeout.After(m: 3));
    }

    /// <summary><c>GET /api/agents/runs</c>: the runs agent-runner has started.</summary>
    public static IEndpointRouteBuilder MapAgentRunnerApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/agents/runs", async (IRunRepository runs, CancellationToken ct) => Results.Ok(await runs.ListAsync(ct)));
        return app;
    }
}
