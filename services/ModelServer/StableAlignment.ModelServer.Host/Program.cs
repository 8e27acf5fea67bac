using StableAlignment.ModelServer;

// model-server: checkpoints and Hugging Face folders over the OpenAI API. Configured like every service (appsettings,
// ModelServer__* variables): one model (ModelServer:Checkpoint) or models by name from ModelServer:ModelsRoot and
// ModelServer:CheckpointsRoot (the trainer's folder), which is how a closed loop's society reaches each new checkpoint.
var app = ModelServerHost.Build(urls: null, args: args, minimum: LogLevel.Information);
app.Run();
