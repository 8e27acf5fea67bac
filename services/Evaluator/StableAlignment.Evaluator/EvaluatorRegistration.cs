using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StableAlignment.Models;

namespace StableAlignment.Evaluator;

public static class EvaluatorRegistration
{
    public static IServiceCollection AddEvaluator(this IServiceCollection services)
    {
        services.AddOptions<EvaluatorOptions>().BindConfiguration(EvaluatorOptions.Section);
        services.AddStableAlignmentModels();
        services.AddSingleton<EvaluationQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<EvaluationQueue>());
        return services;
    }

    public static void AddEvaluatorConsumers(this IBusRegistrationConfigurator bus)
        => bus.AddServiceConsumers(typeof(EvaluatorRegistration).Assembly);

    /// <summary>
    /// <c>GET /api/evaluations</c>: the leaderboard (every report, best first); <c>POST /api/evaluations</c>: an
    /// <see cref="EvaluateCheckpoint"/>, validated (names under the configured roots) before 202;
    /// <c>GET /api/evaluations/status?checkpointId=…</c>: queued, running, done or failed with the reason.
    /// </summary>
    public static IEndpointRouteBuilder MapEvaluatorApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/evaluations", (IOptions<EvaluatorOptions> options, ILogger<EvaluationQueue> logger) =>
            Results.Ok(Reports.Load(Path.GetFullPath(options.Value.Root), skipped => logger.LogWarning("Leaderboard: {Reason}", skipped))));
        app.MapPost("/api/evaluations", async (EvaluateCheckpoint request, IOptions<EvaluatorOptions> options, IOptions<ModelsOptions> models, IPublishEndpoint publish, CancellationToken ct) =>
        {
            if (EvaluationQueue.Problem(request) is { } problem)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid evaluation request", detail: problem);
            }

            if (!request.AllowSelfJudge && EvaluationOptions.SelfJudgeOf(request.Benchmarks.Count > 0 ? request.Benchmarks : options.Value.Benchmarks, models.Value) is { } self)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid evaluation request", detail: $"judge: {self}, or set allowSelfJudge.");
            }

            try
            {
                var confined = EvaluationQueue.Confine(request, options.Value);
                if (!Directory.Exists(confined.Location))
                {
                    return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid evaluation request", detail: $"location: '{request.Location}' is not a folder under Evaluator:CheckpointsRoot.");
                }

                if (confined.Benchmarks.Select((b, i) => (path: BenchmarkSpec.Split(b).Path, i)).FirstOrDefault(b => !File.Exists(b.path) && !Directory.Exists(b.path)) is { path: not null } missing)
                {
                    return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid evaluation request", detail: $"benchmarks[{missing.i}]: '{request.Benchmarks[missing.i]}' names no file under Evaluator:BenchmarksRoot.");
                }

                if (confined.Wrappers is { } wrappers && !File.Exists(wrappers))
                {
                    return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid evaluation request", detail: $"wrappers: '{request.Wrappers}' names no file under Evaluator:BenchmarksRoot.");
                }

                if (confined.Baseline is { } baseline && !Directory.Exists(baseline))
                {
                    return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid evaluation request", detail: $"baseline: '{request.Baseline}' is not a folder under Evaluator:CheckpointsRoot.");
                }
            }
            catch (PathEscapeException e)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid evaluation request", detail: e.Message);
            }

            await publish.Publish(request, ct);
            return Results.Accepted($"/api/evaluations/status?checkpointId={Uri.EscapeDataString(request.CheckpointId)}", new { request.CheckpointId });
        });
        app.MapGet("/api/evaluations/status", (string checkpointId, EvaluationQueue queue) =>
            queue.Status(checkpointId) is { } status
                ? Results.Ok(status)
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown evaluation", detail: $"No evaluation of {checkpointId}."));
        return app;
    }
}
