using System.Globalization;
using StableAlignment.ModelServer;

namespace StableAlignment.Cli;

/// <summary><c>sa serve-model</c>: one checkpoint or Hugging Face folder over the OpenAI API, until Ctrl+C.</summary>
public static class ServeModelCommand
{
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
