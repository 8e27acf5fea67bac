using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace StableAlignment.Gateway.Core;

/// <summary>Rejects POST, PUT, PATCH and DELETE requests without the configured <c>X-Api-Key</c> (401, problem details).</summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, IOptions<GatewayOptions> options)
{
    public const string Header = "X-Api-Key";

    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        var mutating = HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method);
        if (mutating && !Matches(context.Request.Headers[Header].ToString(), options.Value.ApiKey))
        {
            await Results.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "API key required",
                detail: $"Send the configured key in the {Header} header.").ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    private static bool Matches(string given, string expected) =>
        given.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected));
}
