using StableAlignment.Hosting;
using StableAlignment.ObserverRater;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddInternalKey();
builder.Services.AddObserverRater();
builder.Services.AddStableAlignmentBus(builder.Configuration, bus => bus.AddObserverRaterConsumers());

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseInternalKey();
app.Run();
