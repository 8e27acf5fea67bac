using Microsoft.AspNetCore.Http;

namespace StableAlignment.Hosting;

/// <summary>Whether a health response may show each check's detail (exception text): only to the admin or the gateway.</summary>
public static class HealthDetail
{
    private const string Item = "sa.health-detail";

    public static void Allow(HttpContext context, bool allowed) => context.Items[Item] = allowed;

    public static bool Allowed(HttpContext context) => context.Items.TryGetValue(Item, out var v) && v is true;
}
