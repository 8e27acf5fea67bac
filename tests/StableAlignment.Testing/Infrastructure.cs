using System.Diagnostics;

namespace StableAlignment.Testing;

/// <summary>
/// The real broker and database for integration tests and benchmarks, found in this order: <c>RABBITMQ_URI</c> and
/// <c>MONGODB_URI</c> naming running servers; containers of RabbitMQ and MongoDB through Testcontainers when a Docker
/// engine answers and the images are present locally (nothing is pulled); otherwise a private RabbitMQ node and the
/// MongoDB emulator started from <c>infra/</c> (installed by <c>make test</c>). What was started is stopped on dispose.
/// </summary>
public sealed class Infrastructure : IAsyncDisposable
{
    public const string RabbitMqImage = "rabbitmq:3.13-management";
    public const string MongoImage = "mongo:7";

    private readonly List<(string Script, string State)> _started = [];
    private readonly List<IAsyncDisposable> _containers = [];

    public string RabbitMqUri { get; private set; } = null!;

    public string MongoUri { get; private set; } = null!;

    /// <summary>environment, Testcontainers or local scripts.</summary>
    public string Source { get; private set; } = "local scripts";

    /// <summary>Why the Testcontainers path was not taken (one line); null when it was.</summary>
    public string? ContainersSkipped { get; private set; }

    public static async Task<Infrastructure> StartAsync()
    {
        var infra = new Infrastructure();
        var rabbit = Environment.GetEnvironmentVariable("RABBITMQ_URI");
        var mongo = Environment.GetEnvironmentVariable("MONGODB_URI");
        if (rabbit is { Length: > 0 } && mongo is { Length: > 0 })
        {
            (infra.RabbitMqUri, infra.MongoUri, infra.Source) = (rabbit, mongo, "environment");
            // make test says why it started local servers instead of containers.
            infra.ContainersSkipped = Environment.GetEnvironmentVariable("TESTCONTAINERS_SKIPPED") is { Length: > 0 } why
                ? why
                : "RABBITMQ_URI and MONGODB_URI name running servers";
            return infra;
        }

        infra.ContainersSkipped = await infra.TryContainersAsync();
        if (infra.ContainersSkipped is null)
        {
            infra.Source = "Testcontainers";
            return infra;
        }

        var state = Path.Combine(Path.GetTempPath(), "stable-alignment-infra", Guid.NewGuid().ToString("N"));
        infra.RabbitMqUri = rabbit is { Length: > 0 } ? rabbit : await infra.RunAsync("rabbitmq", Path.Combine(state, "rabbitmq"), Port(), Port(), Port());
        infra.MongoUri = mongo is { Length: > 0 } ? mongo : await infra.RunAsync("mongo-emulator", Path.Combine(state, "mongo"), "0");
        return infra;
    }

    /// <summary>Starts RabbitMQ and MongoDB containers; null on success, otherwise why not (one line).</summary>
    private async Task<string?> TryContainersAsync()
    {
        if (!DockerAnswers())
        {
            return "no Docker engine answers (no DOCKER_HOST, no /var/run/docker.sock)";
        }

        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            // Images are never pulled: tests download nothing. `docker pull rabbitmq:3.13-management mongo:7` once.
            var rabbit = new Testcontainers.RabbitMq.RabbitMqBuilder(RabbitMqImage).WithImagePullPolicy(_ => false).Build();
            _containers.Add(rabbit);
            var mongo = new Testcontainers.MongoDb.MongoDbBuilder(MongoImage).WithImagePullPolicy(_ => false).Build();
            _containers.Add(mongo);
            await Task.WhenAll(rabbit.StartAsync(limit.Token), mongo.StartAsync(limit.Token));
            RabbitMqUri = rabbit.GetConnectionString();
            MongoUri = mongo.GetConnectionString();
            return null;
        }
        catch (Exception e)
        {
            await DisposeContainersAsync();
            return $"Docker answers but the containers did not start ({e.GetType().Name}: {e.Message.Split('\n')[0]}); are {RabbitMqImage} and {MongoImage} pulled?";
        }
    }

    private static bool DockerAnswers() =>
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } || File.Exists("/var/run/docker.sock");

    private async Task DisposeContainersAsync()
    {
        foreach (var container in _containers)
        {
            await container.DisposeAsync();
        }

        _containers.Clear();
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

    /// <summary>Runs <c>bash ARGS</c> (a script and its arguments, or <c>-c</c> and a command); its standard output.</summary>
    internal static async Task<string> Shell(params string[] args)
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
        await DisposeContainersAsync();
        foreach (var (script, state) in _started)
        {
            await Shell(script, state);
        }
    }
}

/// <summary>
/// A private RabbitMQ node or MongoDB emulator (journalled, so it keeps what it acknowledged) started by the
/// infra scripts, that a fault-injection test may kill and start again on the same port and state.
/// </summary>
public sealed class RestartableServer : IAsyncDisposable
{
    private readonly string _component;
    private readonly string _state;
    private readonly string[] _args;

    private RestartableServer(string component, string state, string[] args, string uri) =>
        (_component, _state, _args, Uri) = (component, state, args, uri);

    public string Uri { get; }

    /// <summary>A RabbitMQ node of its own (see <see cref="Unavailable"/> first).</summary>
    public static Task<RestartableServer> RabbitMqAsync() =>
        StartAsync("rabbitmq", [Port(), Port(), Port()]);

    public static Task<RestartableServer> MongoAsync() =>
        StartAsync("mongo-emulator", [Port(), "journal"]);

    /// <summary>Why a private server cannot start here, or null when it can.</summary>
    public static string? Unavailable(string component) => component switch
    {
        "rabbitmq" when !File.Exists("/usr/lib/rabbitmq/bin/rabbitmq-server") => "RabbitMQ is not installed here (make test installs it from apt)",
        "mongo-emulator" when !File.Exists("/usr/bin/python3") => "python3 is not installed here (make test installs it with mongomock)",
        _ => null,
    };

    private static async Task<RestartableServer> StartAsync(string component, string[] args)
    {
        var state = Path.Combine(Path.GetTempPath(), "stable-alignment-infra", $"{component}-{Guid.NewGuid():N}");
        var output = await Infrastructure.Shell([RepositoryRoot.Combine("infra", component, "start.sh"), state, .. args]);
        return new RestartableServer(component, state, args, output.Trim().Split('\n')[^1]);
    }

    /// <summary>SIGKILL to the server's process group, as a crash: nothing is shut down cleanly.</summary>
    public async Task KillAsync()
    {
        var pidFile = Path.Combine(_state, _component == "rabbitmq" ? "server.pid" : "mongo.pid");
        var pid = (await File.ReadAllTextAsync(pidFile)).Trim();
        await Infrastructure.Shell("-c", $"kill -KILL -- -{pid} 2>/dev/null || kill -KILL {pid}; while kill -0 {pid} 2>/dev/null; do sleep 0.1; done");
        if (_component == "rabbitmq" && File.Exists(Path.Combine(_state, "rabbit.pid")))
        {
            await Infrastructure.Shell("-c", $"kill -KILL $(cat '{Path.Combine(_state, "rabbit.pid")}') 2>/dev/null; true");
        }
    }

    /// <summary>Starts it again on the same port with the same state.</summary>
    public Task StartAgainAsync() => Infrastructure.Shell([RepositoryRoot.Combine("infra", _component, "start.sh"), _state, .. _args]);

    public async ValueTask DisposeAsync() => await Infrastructure.Shell(RepositoryRoot.Combine("infra", _component, "stop.sh"), _state);

    private static string Port() => ServiceProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
