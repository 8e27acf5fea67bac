using Microsoft.Extensions.Options;
using StableAlignment.Models;
using StableAlignment.SingleProcess;

namespace StableAlignment.Cli;

/// <summary>Builds the single-process application with the command line's overrides on top of appsettings and environment.</summary>
public static class AppFactory
{
    public static WebApplication Build(ModelOverrides models, string urls, IEnumerable<KeyValuePair<string, string?>>? extra = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(models.AsConfiguration().Concat(extra ?? []));
        if (string.IsNullOrEmpty(builder.Configuration["Gateway:ApiKey"]))
        {
            // Nothing is baked in: without a configured key this process makes its own and says so.
            var key = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
            builder.Configuration["Gateway:ApiKey"] = key;
            GeneratedApiKey = key;
        }

        builder.WebHost.UseUrls(urls);
        builder.AddAllServices();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapAllServices();
        return app;
    }

    /// <summary>The API key this process generated because none was configured (null otherwise).</summary>
    public static string? GeneratedApiKey { get; private set; }

    /// <summary>One line saying how to configure a model when a role has none; null when all roles are set.</summary>
    public static string? ModelProblem(WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ModelsOptions>>().Value;
        return new[] { ModelRole.SocialAgent, ModelRole.Observer }.Select(options.Problem).FirstOrDefault(p => p is not null);
    }

    /// <summary>
    /// The single-process app on the local embedded store, started; null (after printing how to configure a
    /// model, in one line) when a model role has no endpoint.
    /// </summary>
    public static async Task<WebApplication?> StartLocalAsync(ModelOverrides models, CancellationToken ct)
    {
        var app = Build(models, "http://127.0.0.1:0", [StorePath("artifacts/store/stable-alignment.db")]);
        if (ModelProblem(app) is { } problem)
        {
            Console.Error.WriteLine(problem);
            await app.DisposeAsync();
            return null;
        }

        await app.StartAsync(ct);
        return app;
    }

    /// <summary>Relative store paths are resolved from the working directory, not the install folder.</summary>
    public static KeyValuePair<string, string?> StorePath(string path) => new("Storage:EmbeddedPath", Path.GetFullPath(path));
}
