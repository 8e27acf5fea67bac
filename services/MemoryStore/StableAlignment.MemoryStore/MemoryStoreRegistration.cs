using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StableAlignment.MemoryStore.Persistence;

namespace StableAlignment.MemoryStore;

public static class MemoryStoreRegistration
{
    public static IServiceCollection AddMemoryStore(this IServiceCollection services)
    {
        services.AddOptions<MemoryOptions>().BindConfiguration(MemoryOptions.Section);
        services.AddRepository<IInteractionRepository>(
            file => new LiteDbInteractionRepository(file),
            database => Indexed(new MongoInteractionRepository(database), r => r.EnsureIndexesAsync()));
        services.AddRepository<IAgentMemoryRepository>(
            file => new LiteDbMemoryRepository(file),
            database => Indexed(new MongoMemoryRepository(database), r => r.EnsureIndexesAsync()));
        // Only the price table of the Models section: memory-store counts cost (sa.model.cost) but calls no model.
        services.TryAddSingleton(sp => new ModelPrices(
            sp.GetRequiredService<IConfiguration>().GetSection(ModelPrices.Section).Get<Dictionary<string, ModelPrice>>() ?? []));
        return services;
    }

    private static T Indexed<T>(T repository, Func<T, Task> ensureIndexes)
    {
        ensureIndexes(repository).GetAwaiter().GetResult();
        return repository;
    }

    public static void AddMemoryStoreConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddServiceConsumers(typeof(MemoryStoreRegistration).Assembly);
    }

    /// <summary>Read API under <c>/api/memory</c>: a run's counts and interactions, one interaction, an agent's memory (runs themselves are agent-runner's: <c>/api/agents/runs</c>).</summary>
    public static IEndpointRouteBuilder MapMemoryStoreApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/memory");
        api.MapGet("/runs/{runId:guid}", async (Guid runId, IInteractionRepository interactions, CancellationToken ct) =>
        {
            var completed = await interactions.CountByRunAsync(runId, InteractionStatus.Completed, ct);
            var failed = await interactions.CountByRunAsync(runId, InteractionStatus.Failed, ct);
            return completed + failed == 0 ? UnknownRun(runId) : Results.Ok(new { runId, completed, failed });
        });
        api.MapGet("/interactions", async (string? runId, IInteractionRepository interactions, CancellationToken ct) =>
        {
            if (!Guid.TryParse(runId, out var id))
            {
                return Results.Problem(
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "runId is required",
                    detail: "Pass the run id as a GUID: /api/memory/interactions?runId=<guid>.");
            }

            var records = await interactions.ListByRunAsync(id, ct);
            return records.Count == 0 ? UnknownRun(id) : Results.Ok(records);
        });
        api.MapGet("/interactions/{id:guid}", async (Guid id, IInteractionRepository interactions, CancellationToken ct) =>
            await interactions.GetAsync(id, ct) is { } record
                ? Results.Ok(record)
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown interaction", detail: $"No interaction {id}."));
        api.MapGet("/agents/{agentId:int}", async (int agentId, Guid runId, IAgentMemoryRepository memory, CancellationToken ct) =>
            Results.Ok(await memory.ListAsync(runId, agentId, ct)));
        return app;
    }

    private static IResult UnknownRun(Guid runId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown run", detail: $"memory-store holds no interaction of run {runId}.");
}
