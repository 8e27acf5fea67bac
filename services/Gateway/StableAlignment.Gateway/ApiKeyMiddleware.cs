using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace StableAlignment.Gateway;

/// <summary>What a request's <c>X-Api-Key</c> allows.</summary>
public enum Access
{
    None,
    Read,
    Admin,
}

/// <summary>
/// Authorises every request by its <c>X-Api-Key</c>: reads (GET, HEAD) need a read key or the admin key, anything
/// else the admin key (401 without a valid key, 403 with a read key). <c>/health</c>, <c>/health/live</c> and
/// <c>/health/ready</c> answer everyone with the status only; the admin key also sees each check's detail. The
/// dashboard's static files (<c>/</c>, <c>/dashboard/*</c>) are served to anyone: they hold no data.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, IOptions<GatewayOptions> options)
{
    public const string Header = "X-Api-Key";

    public async Task InvokeAsync(HttpContext context)
    {
        var access = Identify(context, options.Value);
        var path = context.Request.Path;
        if (path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
        {
            HealthDetail.Allow(context, access == Access.Admin);
            await next(context);
            return;
        }

        var method = context.Request.Method;
        var read = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        if (read && DashboardEndpoints.IsDashboardFile(path))
        {
            await next(context); // the dashboard's static files hold no data; the page reads the API with the user's key
            return;
        }

        var allowed = access == Access.Admin || (read && (access == Access.Read || options.Value.AnonymousReads));
        if (!allowed)
        {
            await Results.Problem(
                statusCode: access == Access.Read ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized,
                title: access == Access.Read ? "Read-only key" : "API key required",
                detail: access == Access.Read
                    ? "This key may only read (GET); changes need the admin key."
                    : $"Send a configured key in the {Header} header.").ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    /// <summary>What the request's key allows; worked out once per request (the rate limiter and the keys both ask).</summary>
    public static Access Identify(HttpContext context, GatewayOptions options)
    {
        if (context.Items.TryGetValue(typeof(Access), out var known) && known is Access access)
        {
            return access;
        }

        access = Compare(context.Request.Headers[Header].ToString(), options);
        context.Items[typeof(Access)] = access;
        return access;
    }

    private static Access Compare(string given, GatewayOptions options)
    {
        if (given.Length == 0)
        {
            return Access.None;
        }

        if (Matches(given, options.ApiKey))
        {
            return Access.Admin;
        }

        return options.ReadKeys.Any(k => Matches(given, k)) ? Access.Read : Access.None;
    }

    private static bool Matches(string given, string expected) =>
        expected.Length > 0 && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
