using StableAlignment.Hosting;
using StableAlignment.Trainer;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddInternalKey();
var standby = TrainerStandby.ShouldStandBy(builder.Configuration);
builder.Services.AddTrainer(standby);
builder.Services.AddStableAlignmentBus(builder.Configuration, bus => bus.AddTrainerConsumers(standby));

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseInternalKey();
app.MapTrainerApi();
app.Run();
