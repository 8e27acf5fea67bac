using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StableAlignment.ModelServer;

/// <summary>A web application serving one model over the OpenAI-compatible API (<c>sa serve-model</c>, the model-server service, the loop).</summary>
public static class ModelServerHost
{
    /// <param name="settings">Configuration over the defaults (e.g. <c>ModelServer:Checkpoint</c>); null entries are ignored.</param>
    /// <param name="model">An already loaded model, which stays the caller's (not disposed with the app) unless
    /// <paramref name="ownsModel"/>; otherwise <c>ModelServer:Checkpoint</c> is loaded and disposed with the app.</param>
    /// <param name="urls">Where to listen; null: the host's own configuration (ASPNETCORE_URLS, --urls).</param>
    public static WebApplication Build(string? urls, IDictionary<string, string?>? settings = null, ServedModel? model = null, string[]? args = null,
        LogLevel minimum = LogLevel.Warning, bool ownsModel = false)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.Configuration.AddEnvironmentVariables();
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings.Where(kv => kv.Value is not null));
        }

        if (urls is not null)
        {
            builder.WebHost.UseUrls(urls);
        }

        builder.Logging.SetMinimumLevel(minimum);
        builder.Services.AddOptions<ModelServerOptions>().BindConfiguration(ModelServerOptions.Section);
        var options = builder.Configuration.GetSection(ModelServerOptions.Section).Get<ModelServerOptions>() ?? new ModelServerOptions();
        if (model is null && options.Checkpoint is not null)
        {
            model = ServedModel.Load(options.Checkpoint, options.ModelId, options.Template, options.Threads);
            ownsModel = true;
        }
        else if (model is null && options.ModelsRoot is null && options.CheckpointsRoot is null)
        {
            throw new InvalidOperationException("No model to serve: set ModelServer:Checkpoint (or pass --checkpoint DIR), or ModelServer:ModelsRoot / ModelServer:CheckpointsRoot to serve models by name.");
        }

        builder.Services.AddModelServer(model, ownsModel);
        var app = builder.Build();
        app.MapGet("/health/live", () => Results.Ok(new { status = "Healthy" }));
        app.MapGet("/health/ready", (ModelRegistry r) => Results.Ok(new { status = "Healthy", models = r.Loaded.Select(m => m.Id) }));
        app.MapOpenAiApi();
        return app;
    }

    /// <summary>The first address the started application listens on, with <c>/v1</c> appended: what clients use as endpoint.</summary>
    public static Uri Endpoint(WebApplication app)
    {
        var address = app.Urls.First().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
        return new Uri($"{address.TrimEnd('/')}/v1");
    }
}
