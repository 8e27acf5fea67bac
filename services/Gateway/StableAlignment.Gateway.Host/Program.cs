using StableAlignment.Gateway;
using StableAlignment.Gateway.Host;
using StableAlignment.Hosting;
using Yarp.ReverseProxy.Transforms;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddGatewayCore().AddInternalKey();
builder.Services.AddStableAlignmentBus(builder.Configuration, _ => { });
builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy")).AddTransforms(t =>
{
    // Backends answer only calls that carry the internal key; the caller's own key stays at the gateway.
    var key = t.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<InternalOptions>>().Value.Key;
    t.AddRequestHeader(InternalOptions.Header, key, append: false);
    t.AddRequestHeaderRemove(ApiKeyMiddleware.Header);
});
builder.Services.AddHttpClient(AggregateHealth.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(3));

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseGatewaySecurity();
app.MapQuestionsApi();
app.MapDashboard();
app.MapGet("/health", AggregateHealth.HandleAsync);
app.MapReverseProxy();
app.Run();
