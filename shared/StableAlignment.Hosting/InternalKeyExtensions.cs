using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StableAlignment.Hosting;

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
