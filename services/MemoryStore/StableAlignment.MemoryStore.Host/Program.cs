using StableAlignment.Hosting;
using StableAlignment.MemoryStore;
using StableAlignment.Storage;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddInternalKey();
builder.Services.AddStableAlignmentStorage().AddMemoryStore();
builder.Services.AddStableAlignmentBus(builder.Configuration, bus => bus.AddMemoryStoreConsumers());

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseInternalKey();
app.MapMemoryStoreApi();
app.Run();
