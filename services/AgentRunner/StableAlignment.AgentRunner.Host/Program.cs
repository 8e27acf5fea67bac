using StableAlignment.AgentRunner;
using StableAlignment.Hosting;
using StableAlignment.Storage;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddInternalKey();
builder.Services.AddStableAlignmentStorage().AddAgentRunner();
builder.Services.AddStableAlignmentBus(builder.Configuration, bus => bus.AddAgentRunnerConsumers());

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseInternalKey();
app.MapAgentRunnerApi();
app.Run();
