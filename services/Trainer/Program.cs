using StableAlignment.Hosting;
using StableAlignment.Learning.Service;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddTrainer();
builder.Services.AddStableAlignmentBus(builder.Configuration, bus => bus.AddTrainerConsumers());

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapTrainerApi();
app.Run();
