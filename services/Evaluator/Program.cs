using StableAlignment.Evaluation;
using StableAlignment.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddEvaluator();
builder.Services.AddStableAlignmentBus(builder.Configuration, bus => bus.AddEvaluatorConsumers());

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapEvaluatorApi();
app.Run();
