using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace StableAlignment.Gateway;

/// <summary>
/// The read-only web dashboard at <c>/</c>: plain HTML, CSS and JavaScript embedded in this assembly (no build step,
/// no third-party code). The page holds no data; it reads the API with the key the user enters, so serving it needs
/// no key.
/// </summary>
public static class DashboardEndpoints
{
    private static readonly Dictionary<string, (string Resource, string ContentType)> Files = new(StringComparer.Ordinal)
    {
        ["/"] = ("index.html", "text/html; charset=utf-8"),
        ["/dashboard/dashboard.js"] = ("dashboard.js", "text/javascript; charset=utf-8"),
        ["/dashboard/dashboard.css"] = ("dashboard.css", "text/css; charset=utf-8"),
    };

    /// <summary>Whether a path is one of the dashboard's static files (served without a key).</summary>
    public static bool IsDashboardFile(PathString path) => Files.ContainsKey(path.Value ?? string.Empty);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        foreach (var (path, (resource, contentType)) in Files)
        {
            app.MapGet(path, (HttpContext context) =>
            {
                var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream($"StableAlignment.Gateway.Dashboard.{resource}")!;
                context.Response.Headers.CacheControl = "no-cache";
                context.Response.Headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self'; img-src 'self' data:";
                return Results.Stream(stream, contentType);
            });
        }

        return app;
    }
}
