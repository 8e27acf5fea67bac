using System.Text.Json;
using StableAlignment.Hosting;
using Yarp.ReverseProxy.Configuration;

namespace StableAlignment.Gateway.Host;

/// <summary>
/// <c>GET /health</c>: asks every routed service's <c>/health/ready</c>; 503 unless all are healthy. Everyone sees each
/// service's status; the reason (status code or exception text) only with the admin key.
/// </summary>
public static class AggregateHealth
{
    public const string HttpClientName = "health";

    public static async Task HandleAsync(HttpContext context, IProxyConfigProvider proxy, IHttpClientFactory clients)
    {
        var http = clients.CreateClient(HttpClientName);
        var checks = proxy.GetConfig().Clusters
            .Select(async cluster =>
            {
                var address = cluster.Destinations?.Values.FirstOrDefault()?.Address;
                try
                {
                    using var response = await http.GetAsync(new Uri(new Uri(address!), "/health/ready"), context.RequestAborted);
                    return (cluster.ClusterId, healthy: response.IsSuccessStatusCode, detail: $"{(int)response.StatusCode}");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException or ArgumentNullException)
                {
                    return (cluster.ClusterId, healthy: false, detail: e.Message);
                }
            });
        var results = await Task.WhenAll(checks);
        var allHealthy = results.All(r => r.healthy);
        var detail = HealthDetail.Allowed(context);
        context.Response.StatusCode = allHealthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = allHealthy ? "Healthy" : "Unhealthy",
            services = results.ToDictionary(r => r.ClusterId, r => new { status = r.healthy ? "Healthy" : "Unhealthy", detail = detail ? r.detail : null }),
        });
    }
}
