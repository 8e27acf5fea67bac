using StableAlignment.Gateway.Core;
using StableAlignment.Gateway.Host;
using StableAlignment.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddGatewayCore();
builder.Services.AddStableAlignmentBus(builder.Configuration, _ => { });
builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
builder.Services.AddHttpClient(AggregateHealth.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(3));

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseApiKey();
app.MapQuestionsApi();
app.MapGet("/health", AggregateHealth.HandleAsync);
app.MapReverseProxy();
app.Run();
