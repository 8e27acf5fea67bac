using StableAlignment.Hosting;

// The host joins the bus and reports health; its consumers arrive with the capability it runs.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddStableAlignmentBus(builder.Configuration, _ => { });

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
