using System.CommandLine;

namespace StableAlignment.Cli;

/// <summary><c>sa serve</c>: the gateway's API and every service in one process, until Ctrl+C.</summary>
public static class ServeCommand
{
    public static Command Create(CliOptions cli)
    {
        var urls = new Option<string>("--urls") { Description = "Address to listen on", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var command = new Command("serve", "Serve every service and the gateway API from one process") { urls };
        command.SetAction((p, ct) => ExecuteAsync(cli.Models(p), p.GetValue(urls)!, ct));
        return CliOptions.Example(cli.WithModels(command), "sa serve --urls http://127.0.0.1:8080   (the API and the dashboard; the key is printed)");
    }

    public static async Task<int> ExecuteAsync(ModelOverrides models, string urls, CancellationToken ct)
    {
        await using var app = AppFactory.Build(models, urls, [AppFactory.StorePath("artifacts/store/stable-alignment.db")]);
        if (AppFactory.ModelProblem(app) is { } problem)
        {
            Console.Error.WriteLine(problem);
            return 2;
        }

        Console.WriteLine($"Serving on {urls} (Ctrl+C to stop)");
        if (AppFactory.GeneratedApiKey is { } key)
        {
            Console.WriteLine($"No Gateway:ApiKey configured; this session's key is {key} (send it as X-Api-Key)");
        }

        await app.RunAsync();
        return 0;
    }
}
