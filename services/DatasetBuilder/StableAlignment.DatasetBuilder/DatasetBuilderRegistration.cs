using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace StableAlignment.DatasetBuilder;

public static class DatasetBuilderRegistration
{
    public static IServiceCollection AddDatasetBuilder(this IServiceCollection services)
    {
        services.AddOptions<DatasetOptions>().BindConfiguration(DatasetOptions.Section);
        return services;
    }

    public static void AddDatasetBuilderConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddServiceConsumers(typeof(DatasetBuilderRegistration).Assembly);
        bus.AddRequestClient<ListInteractions>(RequestTimeout.After(s: 30));
    }

    /// <summary><c>GET /api/datasets</c>, <c>GET /api/datasets/{id}</c> (manifests), <c>POST /api/datasets</c> (a <see cref="BuildDataset"/>, 202).</summary>
    public static IEndpointRouteBuilder MapDatasetBuilderApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/datasets", async (IOptions<DatasetOptions> options, CancellationToken ct) =>
        {
            var root = Path.GetFullPath(options.Value.Root);
            var manifests = new List<DatasetManifest>();
            foreach (var folder in Directory.Exists(root) ? Directory.GetDirectories(root) : [])
            {
                if (await DatasetBuild.ReadManifestAsync(folder, ct) is { } manifest)
                {
                    manifests.Add(manifest);
                }
            }

            return Results.Ok(manifests.OrderBy(m => m.CreatedAt));
        });
        app.MapGet("/api/datasets/{id}", async (string id, IOptions<DatasetOptions> options, CancellationToken ct) =>
            DatasetId.IsValid(id) && await DatasetBuild.ReadManifestAsync(Path.Combine(Path.GetFullPath(options.Value.Root), id), ct) is { } manifest
                ? Results.Ok(manifest)
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown dataset", detail: $"No dataset {id}."));
        app.MapPost("/api/datasets", async (BuildDataset request, IRequestClient<ListInteractions> memoryStore, IPublishEndpoint publish, IOptions<DatasetOptions> options, CancellationToken ct) =>
        {
            if (BuildDatasetConsumer.Problem(request) is { } problem)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid dataset request", detail: problem);
            }

            try
            {
                foreach (var runId in BuildDatasetConsumer.Runs(request))
                {
                    if (await BuildDatasetConsumer.CompletedCountAsync(memoryStore, runId, ct) == 0)
                    {
                        var field = runId == request.RunId ? "runId" : $"poolRuns[{request.PoolRuns.ToList().IndexOf(runId)}]";
                        return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown run", detail: $"{field}: memory-store holds no completed interaction of run {runId}.");
                    }
                }
            }
            catch (RequestTimeoutException)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "memory-store did not answer", detail: "The run's interactions could not be counted; try again.");
            }

            var id = BuildDatasetConsumer.IdFor(request);
            var status = DatasetStatus.File(options.Value.Root, id);
            if (status.Read() is null)
            {
                status.Write(JobState.Queued, null);
            }

            await publish.Publish(request, ct);
            return Results.Accepted($"/api/datasets/{id}/status", new { request.RunId, datasetId = id });
        });
        app.MapGet("/api/datasets/{id}/status", (string id, IOptions<DatasetOptions> options) =>
            DatasetId.IsValid(id) && DatasetStatus.File(options.Value.Root, id).Read() is { } status
                ? Results.Ok(status)
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown dataset", detail: $"No dataset build {id}."));
        return app;
    }
}
