using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.AgentRunner.Sandbox;
using StableAlignment.Contracts;
using StableAlignment.Models;
using StableAlignment.Storage;

namespace StableAlignment.AgentRunner;

public static class AgentRunnerRegistration
{
    public static IServiceCollection AddAgentRunner(this IServiceCollection services)
    {
        services.AddOptions<PromptOptions>().BindConfiguration(PromptOptions.Section);
        services.AddOptions<SimulationOptions>().BindConfiguration(SimulationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddStableAlignmentModels();
        services.AddSingleton<BackScatter>();
        services.AddSingleton<SimulationRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<SimulationRunner>());
        return services;
    }

    public static void AddAgentRunnerConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<QuestionPosedConsumer, QuestionPosedConsumerDefinition>();
        bus.AddConsumer<StartSimulationConsumer, StartSimulationConsumerDefinition>();
        bus.AddConsumer<ResumeSimulationConsumer, ResumeSimulationConsumerDefinition>();
        bus.AddRequestClient<RateAnswer>(RequestTimeout.After(m: 3));
    }

    /// <summary>
    /// <c>GET /api/agents/runs</c> (runs with progress), <c>GET /api/agents/runs/{id}</c> (one run, with its most common
    /// failure reasons), <c>POST /api/agents/runs</c> (start a simulation, 202),
    /// <c>POST /api/agents/runs/{id}/resume</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapAgentRunnerApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/agents/runs", async (IRunRepository runs, IInteractionRepository interactions, CancellationToken ct) =>
        {
            var list = new List<object>();
            foreach (var run in await runs.ListAsync(ct))
            {
                list.Add(new
                {
                    run.Id, run.Kind, run.Status, run.CreatedAt,
                    total = run.Simulation is { } s ? s.GridSize * s.GridSize * s.Rounds : (int?)null,
                    completed = await interactions.CountByRunAsync(run.Id, InteractionStatus.Completed, ct),
                    failed = await interactions.CountByRunAsync(run.Id, InteractionStatus.Failed, ct),
                });
            }

            return Results.Ok(list);
        });
        app.MapGet("/api/agents/runs/{runId:guid}", async (Guid runId, IRunRepository runs, IInteractionRepository interactions, CancellationToken ct) =>
        {
            if (await runs.GetAsync(runId, ct) is not { } run)
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown run", detail: $"No run {runId}.");
            }

            var failed = await interactions.CountByRunAsync(run.Id, InteractionStatus.Failed, ct);
            var failures = failed == 0
                ? []
                : (await interactions.ListByRunAsync(run.Id, ct)).Where(r => r.Status == InteractionStatus.Failed)
                    .GroupBy(r => r.FailureReason ?? "unknown").OrderByDescending(g => g.Count()).Take(5)
                    .Select(g => new { reason = g.Key, count = g.Count() }).ToList<object>();
            return Results.Ok(new
            {
                run.Id, run.Kind, run.Status, run.FailureReason, run.CreatedAt,
                total = run.Simulation is { } s ? s.GridSize * s.GridSize * s.Rounds : (int?)null,
                completed = await interactions.CountByRunAsync(run.Id, InteractionStatus.Completed, ct),
                failed,
                failures,
            });
        });
        app.MapPost("/api/agents/runs", async (StartSimulationRequest body, IRunRepository runs, IPublishEndpoint publish, CancellationToken ct) =>
        {
            var message = body.ToMessage();
            if (StartSimulationConsumer.Validate(message) is { } problem)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid simulation", detail: problem);
            }

            // The run exists before 202, so its Location answers at once (Running, 0 completed).
            await runs.TryCreateAsync(StartSimulationConsumer.Record(message), ct);
            await publish.Publish(message, ct);
            return Results.Accepted($"/api/agents/runs/{message.RunId}", new { runId = message.RunId });
        });
        app.MapPost("/api/agents/runs/{runId:guid}/resume", async (Guid runId, IRunRepository runs, IPublishEndpoint publish, CancellationToken ct) =>
        {
            if (await runs.GetAsync(runId, ct) is not { Simulation: not null })
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown run", detail: $"No simulation run {runId}.");
            }

            await publish.Publish(new ResumeSimulation { RunId = runId }, ct);
            return Results.Accepted($"/api/agents/runs/{runId}", new { runId });
        });
        return app;
    }
}

/// <summary>Body of <c>POST /api/agents/runs</c>; the run id is made when not given.</summary>
public sealed record StartSimulationRequest
{
    public Guid? RunId { get; init; }
    public int GridSize { get; init; } = 10;
    public int Rounds { get; init; } = 1;
    public string InitialSetting { get; init; } = InitialSettings.AllGood;
    public int Peers { get; init; } = 4;
    public bool GlobalInteraction { get; init; }
    public double Dropout { get; init; } = 0.5;
    public int Seed { get; init; }
    public int SeedMemories { get; init; } = 50;
    public List<string> Questions { get; init; } = [];
    public List<PriorEntry> Prior { get; init; } = [];

    public StartSimulation ToMessage() => new()
    {
        RunId = RunId is { } id && id != Guid.Empty ? id : NewId.NextGuid(),
        GridSize = GridSize, Rounds = Rounds, InitialSetting = InitialSetting, Peers = Peers, GlobalInteraction = GlobalInteraction,
        Dropout = Dropout, Seed = Seed, SeedMemories = SeedMemories, Questions = Questions, Prior = Prior,
    };
}
