using System.CommandLine;
using System.Globalization;
using StableAlignment.ModelServer;

namespace StableAlignment.Cli;

/// <summary><c>sa serve-model</c>: one checkpoint or Hugging Face folder over the OpenAI API, until Ctrl+C.</summary>
public static class ServeModelCommand
{
    public static Command Create(CliOptions cli)
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "What to serve: a training folder (its latest checkpoint), a checkpoint folder, or a Hugging Face model folder", Required = true };
        var urls = new Option<string>("--urls") { Description = "Address to listen on", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        var name = new Option<string?>("--name") { Description = "The model name clients send (default: the folder's name)" };
        var template = new Option<ChatTemplate>("--template")
        {
            Description = "How chat messages become the prompt: Recorded (the checkpoint's training template, else the folder's Jinja chat_template, else Alpaca), Jinja (the folder's chat_template), Alpaca, or Raw", DefaultValueFactory = _ => ChatTemplate.Recorded,
        };
        var maxBatch = new Option<int>("--max-batch") { Description = "Sequences decoded together at most", DefaultValueFactory = _ => 64 };
        var key = new Option<string?>("--server-api-key") { Description = "Require Authorization: Bearer KEY on every request (default: $SA_MODEL_SERVER_KEY; none: open)" };
        var command = new Command("serve-model", "Serve a checkpoint or Hugging Face folder over the OpenAI API: /v1/chat/completions, /v1/completions, /v1/models, /v1/embeddings (batched decoding, streaming)")
        {
            checkpoint, urls, name, template, maxBatch, key,
        };
        command.SetAction((p, ct) => ExecuteAsync(p.GetValue(checkpoint)!, p.GetValue(urls)!, p.GetValue(name), p.GetValue(template),
            p.GetValue(maxBatch), p.GetValue(key) ?? Environment.GetEnvironmentVariable("SA_MODEL_SERVER_KEY"), ct));
        return CliOptions.Example(command, "sa serve-model --checkpoint artifacts/train/sa --urls http://127.0.0.1:8000   (then: --endpoint http://127.0.0.1:8000/v1 --model NAME)");
    }

    public static async Task<int> ExecuteAsync(DirectoryInfo checkpoint, string urls, string? name, ChatTemplate template, int maxBatch, string? key, CancellationToken ct)
    {
        if (maxBatch < 1)
        {
            Console.Error.WriteLine("--max-batch must be at least 1.");
            return 2;
        }

        await using var app = ModelServerHost.Build(urls, new Dictionary<string, string?>
        {
            ["ModelServer:Checkpoint"] = checkpoint.FullName,
            ["ModelServer:ModelId"] = name,
            ["ModelServer:Template"] = template.ToString(),
            ["ModelServer:MaxBatch"] = maxBatch.ToString(CultureInfo.InvariantCulture),
            ["ModelServer:ApiKey"] = key,
        });
        await app.StartAsync(ct);
        var served = app.Services.GetRequiredService<ModelRegistry>().Loaded.Single();
        Console.WriteLine($"Serving '{served.Id}' ({served.Path}) at {ModelServerHost.Endpoint(app)} — chat template: "
            + $"{(served.Template is null ? "raw" : served.Template.Replace("\n", "\\n", StringComparison.Ordinal))}; at most {maxBatch} sequences per batch (Ctrl+C to stop)");
        await app.WaitForShutdownAsync(ct);
        return 0;
    }
}
