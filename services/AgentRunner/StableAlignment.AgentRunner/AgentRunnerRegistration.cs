using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StableAlignment.AgentRunner.Persistence;
using StableAlignment.AgentRunner.Sandbox;
using StableAlignment.Models;

namespace StableAlignment.AgentRunner;

public static class AgentRunnerRegistration
{
    public static IServiceCollection AddAgentRunner(this IServiceCollection services)
    {
        services.AddOptions<PromptOptions>().BindConfiguration(PromptOptions.Section);
        services.AddOptions<SimulationOptions>().BindConfiguration(SimulationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddStableAlignmentModels();
        services.AddRepository<IRunRepository>(file => new LiteDbRunRepository(file), database => new MongoRunRepository(database));
        services.AddSingleton<BrokerLink>();
        services.AddReceiveEndpointObserver(sp => sp.GetRequiredService<BrokerLink>());
        services.AddSingleton<BackScatter>();
        services.AddSingleton<RunTracker>();
        services.AddSingleton<MemoryStoreQueries>();
        services.AddSingleton<SimulationRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<SimulationRunner>());
        return services;
    }

    public static void AddAgentRunnerConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddServiceConsumers(typeof(AgentRunnerRegistration).Assembly);
        bus.AddRequestClient<RateAnswer>(RequestTimeout.After(m: 3));
        bus.AddRequestClient<GetRunTally>(RequestTimeout.After(s: 30));
        bus.AddRequestClient<FindInteraction>(RequestTimeout.After(s: 10));

        // Every instance hears every stored record (its own temporary queue): the instance running a run counts them.
        bus.AddConsumer<InteractionStoredConsumer>().Endpoint(e =>
        {
            e.InstanceId = NewId.NextGuid().ToString("N")[..12];
            e.Temporary = true;
        });
    }

    /// <summary>
    /// <c>GET /api/agents/runs</c> (runs with progress), <c>GET /api/agents/runs/{id}</c> (one run, with its most common
    /// failure reasons), <c>POST /api/agents/runs</c> (start a simulation, 202),
    /// <c>POST /api/agents/runs/{id}/resume</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapAgentRunnerApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/agents/runs", async (IRunRepository runs, MemoryStoreQueries memoryStore, CancellationToken ct) =>
        {
            var list = await runs.ListAsync(ct);
            var tallies = await Task.WhenAll(list.Select(run => memoryStore.TryTallyAsync(run.Id, ct)));
            return Results.Ok(list.Select((run, i) => new
            {
                run.Id, run.Kind, run.Status, run.CreatedAt,
                total = Total(run),
                completed = tallies[i]?.Completed,
                failed = tallies[i]?.Failed,
            }));
        });
        app.MapGet("/api/agents/runs/{runId:guid}", async (Guid runId, IRunRepository runs, MemoryStoreQueries memoryStore, CancellationToken ct) =>
        {
            if (await runs.GetAsync(runId, ct) is not { } run)
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown run", detail: $"No run {runId}.");
            }

            // Counts are memory-store's (the owner of interactions); null when it does not answer in time.
            var tally = await memoryStore.TryTallyAsync(runId, ct, withFailures: true);
            return Results.Ok(new
            {
                run.Id, run.Kind, run.Status, run.FailureReason, run.CreatedAt,
                total = Total(run),
                completed = tally?.Completed,
                failed = tally?.Failed,
                failures = tally?.Failures.Select(f => new { reason = f.Reason, count = f.Count }),
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

    private static int? Total(RunRecord run) => run.Simulation is { } s ? s.GridSize * s.GridSize * s.Rounds : null;
}

/// <summary>Body of <c>POST /api/agents/runs</c>: the run's <see cref="SimulationSettings"/> and feed; the run id is made when not given.</summary>
public sealed record StartSimulationRequest : SimulationSettings
{
    public Guid? RunId { get; init; }
    public List<string> Questions { get; init; } = [];
    public List<PriorEntry> Prior { get; init; } = [];

    /// <summary>The models of the social agents with their shares (a mixed society); none: the configured society.</summary>
    public List<SocialAgentChoice>? SocialAgentModels { get; init; }

    /// <summary>Makes the run the first step of a closed loop: its dataset trains a checkpoint that plays the next run.</summary>
    public LoopStep? Loop { get; init; }

    public StartSimulation ToMessage() => new(this, RunId is { } id && id != Guid.Empty ? id : NewId.NextGuid(), Questions)
    {
        Prior = Prior, SocialAgentModels = SocialAgentModels, Loop = Loop,
    };
}
