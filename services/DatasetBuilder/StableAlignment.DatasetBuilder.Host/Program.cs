using StableAlignment.DatasetBuilder;
using StableAlignment.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddInternalKey();
builder.Services.AddDatasetBuilder();
builder.Services.AddStableAlignmentBus(builder.Configuration, bus => bus.AddDatasetBuilderConsumers());

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseInternalKey();
app.MapDatasetBuilderApi();
app.Run();
