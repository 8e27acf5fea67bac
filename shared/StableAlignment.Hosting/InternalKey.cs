using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StableAlignment.Hosting;

/// <summary>Bound from the "Internal" section: the key the gateway adds to every call it forwards to a backend service.</summary>
public sealed class InternalOptions
{
    public const string Section = "Internal";

    public const string Header = "X-Internal-Key";

    [Required(ErrorMessage = "Internal:Key is required (set Internal__Key to the same secret on the gateway and every service): backends accept only calls that carry it.")]
    [MinLength(16, ErrorMessage = "Internal:Key must have at least 16 characters.")]
    public string Key { get; set; } = string.Empty;

    public static bool Matches(string given, string expected) =>
        given.Length > 0 && expected.Length > 0
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}

/// <summary>Whether a health response may show each check's detail (exception text): only to the admin or the gateway.</summary>
public static class HealthDetail
{
    private const string Item = "sa.health-detail";

    public static void Allow(HttpContext context, bool allowed) => context.Items[Item] = allowed;

    public static bool Allowed(HttpContext context) => context.Items.TryGetValue(Item, out var v) && v is true;
}

public static class InternalKeyExtensions
{
    /// <summary>Requires <see cref="InternalOptions.Key"/> at start-up (a backend refuses to start without it).</summary>
    public static IServiceCollection AddInternalKey(this IServiceCollection services)
    {
        services.AddOptions<InternalOptions>().BindConfiguration(InternalOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return services;
    }

    /// <summary>
    /// A backend service answers only calls carrying the internal key (401 otherwise), so that nothing on the network
    /// reaches it except through the gateway; <c>/health/live</c> and <c>/health/ready</c> stay open (status only) for
    /// the container health checks.
    /// </summary>
    public static IApplicationBuilder UseInternalKey(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var key = context.RequestServices.GetRequiredService<IOptions<InternalOptions>>().Value.Key;
        var valid = InternalOptions.Matches(context.Request.Headers[InternalOptions.Header].ToString(), key);
        HealthDetail.Allow(context, valid);
        if (!valid && !context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
        {
            await Results.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Internal call required",
                detail: "This service answers the gateway only.").ExecuteAsync(context);
            return;
        }

        await next(context);
    });
}
