using StableAlignment.Evaluator;
using StableAlignment.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddInternalKey();
builder.Services.AddEvaluator();
builder.Services.AddStableAlignmentBus(builder.Configuration, bus => bus.AddEvaluatorConsumers());

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseInternalKey();
app.MapEvaluatorApi();
app.Run();
