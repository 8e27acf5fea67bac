namespace StableAlignment.Benchmarks;

/// <summary>Runs this benchmark program again with a child argument, so that a measurement's peak memory is its own; the child prints one JSON line.</summary>
public static class ChildProcess
{
    public static async Task<T> RunAsync<T>(params string[] args)
    {
        var self = Environment.ProcessPath!;
        var prefix = Path.GetFileName(self) == "dotnet" ? new[] { typeof(ChildProcess).Assembly.Location } : [];
        using var child = Process.Start(new ProcessStartInfo(self, [.. prefix, .. args]) { RedirectStandardOutput = true })!;
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        return JsonSerializer.Deserialize<T>(output.Trim().Split('\n')[^1]) ?? throw new InvalidOperationException($"{string.Join(' ', args)} printed: {output}");
    }

    /// <summary>Peak resident memory of this process (VmHWM), in MiB.</summary>
    public static double PeakResidentMiB()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}
