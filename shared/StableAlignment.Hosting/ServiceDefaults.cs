using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StableAlignment.Primitives;

namespace StableAlignment.Hosting;

public static class ServiceDefaults
{
    /// <summary>Health checks, problem details and JSON conventions shared by every service host.</summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        Environment.SetEnvironmentVariable("MASSTRANSIT_USAGE_TELEMETRY", "false");
        // Stop within a container's grace period (docker stop waits 10 s): in-flight work is cancelled and resumed later.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(8));
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), tags: ["live"]);
        // A body that does not bind (malformed JSON, a number out of range, an unknown loss name) is the client's error:
        // 400 with a problem that says which field and why, instead of an empty 400.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            if (c.Exception is BadHttpRequestException bad)
            {
                c.ProblemDetails.Detail = bad.InnerException is System.Text.Json.JsonException json ? json.Message : bad.Message;
            }
        });
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        AddTelemetry(builder);
        return builder;
    }

    /// <summary>
    /// Traces (ASP.NET Core, HTTP clients including model calls, MassTransit, the project's own source), metrics
    /// (the same, plus <see cref="Telemetry"/>'s counters) and logs, exported over OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; otherwise nothing is exported. One question is one trace: MassTransit
    /// carries the trace context in every message's headers, from the gateway's request to memory-store.
    /// </summary>
    private static void AddTelemetry(IHostApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return;
        }

        builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddSource("MassTransit", Telemetry.Name).AddOtlpExporter())
            .WithMetrics(m => m.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddMeter("MassTransit", Telemetry.Name).AddOtlpExporter())
            .WithLogging(l => l.AddOtlpExporter());
    }

    /// <summary><c>/health/live</c> (the process answers) and <c>/health/ready</c> (bus and store reachable).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // A body over the size limit is the client's error (413), not a server error.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
            // A client's bad request is answered, not logged as the server's failure (no error line, no stack trace).
            SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException,
        });
        app.UseStatusCodePages();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = c => c.Tags.Contains("live"), ResponseWriter = WriteJson });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => !c.Tags.Contains("live"), ResponseWriter = WriteJson });
        return app;
    }

    /// <summary>The overall status and each check's status; descriptions and exception text only where <see cref="HealthDetail"/> allows.</summary>
    public static Task WriteJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var detail = HealthDetail.Allowed(context);
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = detail ? e.Value.Description ?? e.Value.Exception?.Message : null }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}
