using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StableAlignment.Learning;

namespace StableAlignment.Trainer;

public static class TrainerRegistration
{
    /// <param name="standby">Serve the API only: no job is resumed or run here (see <see cref="TrainerStandby"/>).</param>
    public static IServiceCollection AddTrainer(this IServiceCollection services, bool standby = false)
    {
        services.AddOptions<TrainerOptions>().BindConfiguration(TrainerOptions.Section);
        services.AddSingleton<TrainingRunner>();
        services.AddSingleton<DatasetArrivals>();
        if (!standby)
        {
            services.AddHostedService(sp => sp.GetRequiredService<TrainingRunner>());
        }

        return services;
    }

    public static void AddTrainerConsumers(this IBusRegistrationConfigurator bus, bool standby = false)
    {
        if (standby)
        {
            return;
        }

        bus.AddServiceConsumers(typeof(TrainerRegistration).Assembly);
    }

    /// <summary><c>POST /api/training</c> (a <see cref="TrainModel"/>, 202 with the job id), <c>GET /api/training/{jobId}</c> (state: queued, running, done or failed with the reason; metrics).</summary>
    public static IEndpointRouteBuilder MapTrainerApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/training", async (TrainModel request, TrainingRunner runner, IPublishEndpoint publish, CancellationToken ct) =>
        {
            if (runner.Refusal(request) is { } refusal)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid training request", detail: refusal);
            }

            await publish.Publish(request, ct);
            var id = JobId.Of(request).Value;
            return Results.Accepted($"/api/training/{id}", new { jobId = id });
        });
        app.MapGet("/api/training", (TrainingRunner runner) =>
        {
            var jobs = Directory.Exists(runner.Root) ? Directory.GetDirectories(runner.Root, "job-*") : [];
            return Results.Ok(jobs.Select(f => JobView(Path.GetFileName(f), f)).OrderBy(j => j.JobId, StringComparer.Ordinal));
        });
        app.MapGet("/api/training/{jobId}", (string jobId, TrainingRunner runner) =>
        {
            if (!JobId.TryParse(jobId, out var id) || runner.Folder(id) is not { } folder || !Directory.Exists(folder))
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown job", detail: $"No training job {jobId} (yet: an accepted job appears once the trainer takes it).");
            }

            return Results.Ok(JobView(jobId, folder));
        });
        return app;
    }

    /// <summary>A job as the API shows it: state (queued, running, done, failed with the reason) and its metrics.</summary>
    private static JobSummary JobView(string jobId, string folder)
    {
        var job = new JobFolder(folder);
        var failure = job.Failure;
        var metricsFile = Path.Combine(folder, "metrics.jsonl");
        var metrics = new List<StepMetrics>();
        var unreadable = 0;
        foreach (var line in File.Exists(metricsFile) ? File.ReadLines(metricsFile) : [])
        {
            try
            {
                if (line.Length > 0 && JsonSerializer.Deserialize<StepMetrics>(line) is { } m)
                {
                    metrics.Add(m);
                }
            }
            catch (JsonException)
            {
                unreadable++;
            }
        }

        return new JobSummary(
            jobId, job.State(metrics.Count > 0), failure, failure is not null, job.IsDone,
            Checkpoints.Latest(folder), metrics, unreadable);
    }

    public sealed record JobSummary(string JobId, [property: System.Text.Json.Serialization.JsonConverter(typeof(JobStateConverter))] JobState State, string? Reason, bool Retryable, bool Done, string? Latest, List<StepMetrics> Metrics, int UnreadableMetricLines);
}
