using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StableAlignment.Testing;

/// <summary>
/// One service host started as its own process (<c>dotnet services/X/bin/.../StableAlignment.X.Host.dll</c>),
/// configured by environment variables as compose does, and stopped with the test.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(string name, Process process, Uri baseAddress, IDictionary<string, string> environment)
    {
        Name = name;
        _process = process;
        BaseAddress = baseAddress;
        Environment = new Dictionary<string, string>(environment);
    }

    /// <summary>The variables it was started with (a restart uses them again).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>SIGKILL, as a crash: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>The same service started again on the same port with the same variables.</summary>
    public Task<ServiceProcess> RestartAsync() =>
        StartAsync(Name, new Dictionary<string, string>(Environment), BaseAddress.Port);

    public string Name { get; }

    public Uri BaseAddress { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Path of a service's built host assembly, in the same configuration as the running tests.</summary>
    public static string HostAssembly(string service)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release"
            : "Debug";
        var path = RepositoryRoot.Combine("services", service, $"StableAlignment.{service}.Host", "bin", configuration, "net10.0", $"StableAlignment.{service}.Host.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build the solution first: {path} is missing.", path);
    }

    public static Task<ServiceProcess> StartAsync(string service, IDictionary<string, string> environment, int? port = null) =>
        StartAsync(service, environment, port, []);

    /// <summary>Why <see cref="StartWithSmallFolderAsync"/> cannot run here (no unprivileged user and mount namespaces), or null.</summary>
    public static string? SmallFolderUnavailable()
    {
        try
        {
            using var probe = Process.Start(new ProcessStartInfo("unshare", ["-rm", "true"]) { RedirectStandardError = true, UseShellExecute = false })!;
            probe.WaitForExit();
            return probe.ExitCode == 0 ? null : "unprivileged mount namespaces are not allowed here (unshare -rm failed)";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unshare (util-linux) is not installed";
        }
    }

    /// <summary>
    /// The service with <paramref name="folder"/> replaced, for it alone, by a <paramref name="kilobytes"/> KB tmpfs (a
    /// private mount namespace, no root needed): a disk that fills up. Files it writes there are invisible outside.
    /// </summary>
    public static Task<ServiceProcess> StartWithSmallFolderAsync(string service, IDictionary<string, string> environment, string folder, int kilobytes)
    {
        Directory.CreateDirectory(folder);
        return StartAsync(service, environment, null, ["unshare", "-rm", "sh", "-c", $"mount -t tmpfs -o size={kilobytes}k tmpfs \"$0\" && exec \"$@\"", folder]);
    }

    private static async Task<ServiceProcess> StartAsync(string service, IDictionary<string, string> environment, int? port, string[] prefix)
    {
        var p = port ?? FreePort();
        var start = new ProcessStartInfo(prefix.Length > 0 ? prefix[0] : "dotnet", [.. prefix.Skip(1), .. prefix.Length > 0 ? ["dotnet"] : Array.Empty<string>(), HostAssembly(service)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(HostAssembly(service))!,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{p}";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (k, v) in environment)
        {
            start.Environment[k] = v;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {service}.");
        var service1 = new ServiceProcess(service, process, new Uri($"http://127.0.0.1:{p}/"), environment);
        process.OutputDataReceived += (_, e) => service1.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service1.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await service1.WaitReadyAsync(TimeSpan.FromSeconds(90));
        return service1;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync("health/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{Name} was not ready within {timeout}:\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
