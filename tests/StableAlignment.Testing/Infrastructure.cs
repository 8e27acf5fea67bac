using System.Diagnostics;

namespace StableAlignment.Testing;

/// <summary>
/// The real broker and database for integration tests and benchmarks. <c>RABBITMQ_URI</c> and <c>MONGODB_URI</c>
/// name running servers; when unset, a private RabbitMQ node and the MongoDB emulator are started from
/// <c>infra/</c> (installed by <c>make test</c>) and stopped again on dispose.
/// </summary>
public sealed class Infrastructure : IAsyncDisposable
{
    private readonly List<(string Script, string State)> _started = [];

    public string RabbitMqUri { get; private set; } = null!;

    public string MongoUri { get; private set; } = null!;

    public static async Task<Infrastructure> StartAsync()
    {
        var infra = new Infrastructure();
        var state = Path.Combine(Path.GetTempPath(), "stable-alignment-infra", Guid.NewGuid().ToString("N"));
        infra.RabbitMqUri = Environment.GetEnvironmentVariable("RABBITMQ_URI") is { Length: > 0 } rabbit
            ? rabbit
            : await infra.RunAsync("rabbitmq", Path.Combine(state, "rabbitmq"), Port(), Port(), Port());
        infra.MongoUri = Environment.GetEnvironmentVariable("MONGODB_URI") is { Length: > 0 } mongo
            ? mongo
            : await infra.RunAsync("mongo-emulator", Path.Combine(state, "mongo"), "0");
        return infra;
    }

    /// <summary>Settings for a single-process app on this broker and a fresh database of this MongoDB, plus <paramref name="extra"/>.</summary>
    public Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Bus:Transport"] = "RabbitMq",
            ["Bus:RabbitMqUri"] = RabbitMqUri,
            ["Storage:Provider"] = "MongoDb",
            ["Storage:ConnectionString"] = MongoUri,
            ["Storage:Database"] = $"test-{Guid.NewGuid():N}",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static string Port() => ServiceProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task<string> RunAsync(string component, string state, params string[] ports)
    {
        var script = RepositoryRoot.Combine("infra", component, "start.sh");
        var output = await Shell([script, state, .. ports]);
        _started.Add((RepositoryRoot.Combine("infra", component, "stop.sh"), state));
        return output.Trim().Split('\n')[^1];
    }

    private static async Task<string> Shell(params string[] args)
    {
        var start = new ProcessStartInfo("bash", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', args)} failed ({process.ExitCode}): {await stderr} "
                + "(run `make test`, which installs RabbitMQ and mongomock, or set RABBITMQ_URI and MONGODB_URI)");
        }

        return await stdout;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (script, state) in _started)
        {
            await Shell(script, state);
        }
    }
}
