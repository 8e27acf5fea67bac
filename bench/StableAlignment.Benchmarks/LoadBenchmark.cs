using System.Net.Http.Json;
using StableAlignment.Storage;

namespace StableAlignment.Benchmarks;

/// <summary>
/// The SANDBOX over RabbitMQ with the services as separate processes: 1, 2 and 3 agent-runner replicas with 2
/// observer-raters and a memory-store, against the stub model at 50 ms per call; the same world in one process as
/// the reference. Interactions per second, the share of 64 model slots kept busy, and records duplicated across replicas.
/// </summary>
public static class LoadBenchmark
{
    private const string InternalKey = "load-internal-key-0123456789";

    public sealed record Row(string Configuration, double MedianPerSecond, double[] PerSecond, double MedianBusyShare, int Duplicated);

    public static async Task<string> RunAsync(int grid, int rounds, int repeats)
    {
        var questions = Enumerable.Range(0, grid * grid * rounds).Select(i => $"Load question {i}: when is it right to break a promise?").ToList();
        var rows = new List<Row>();
        var single = await SandboxBenchmark.RunAsync(grid, rounds, latencyMs: 50, slots: 64, repeats);
        rows.Add(new Row("one process (in-memory bus, embedded store)", single.MedianPerSecond, single.PerSecond, single.MedianBusyShare, 0));

        await using var infrastructure = await Infrastructure.StartAsync();
        foreach (var replicas in new[] { 1, 2, 3 })
        {
            rows.Add(await OverRabbitMqAsync(infrastructure, replicas, grid, rounds, repeats, questions));
        }

        var machine = Machine.Describe();
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"# Load: the SANDBOX over RabbitMQ with replicas — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.MemoryGiB} GiB, {machine.Os}, {machine.Runtime}")
            .AppendLine(string.Create(CultureInfo.InvariantCulture, $"Inputs: a {grid}×{grid} world × {rounds} rounds ({grid * grid * rounds} interactions), 4 peers, stub model at 50 ms per call (chat and embeddings), ")
                + string.Create(CultureInfo.InvariantCulture, $"64 model calls in flight per process; {repeats} runs per configuration after a warm-up (one 4×4 run per replica). Over RabbitMQ: agent-runner replicas, 2 observer-raters and ")
                + "a memory-store as separate processes on RabbitMQ; the agent-runners share their run records in the MongoDB emulator, memory-store keeps interactions and memories in its own embedded store file; busy share = stub busy time / (64 × wall time).")
            .AppendLine()
            .AppendLine("| configuration | median interactions/s | runs | share of 64 slots busy | of one process | duplicated records |")
            .AppendLine("|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Configuration} | {r.MedianPerSecond:F1} | {string.Join(", ", r.PerSecond.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))} | {r.MedianBusyShare:P0} | {r.MedianPerSecond / rows[0].MedianPerSecond:P0} | {r.Duplicated} |");
        }

        report.AppendLine()
            .AppendLine("A run is executed by the agent-runner replica that takes its StartSimulation message; the other replicas share the")
            .AppendLine("queues of questions and replies, so one run's speed is bounded by one replica, the bus and this machine's 2 cores.");
        return report.ToString();
    }

    private static async Task<Row> OverRabbitMqAsync(Infrastructure infrastructure, int replicas, int grid, int rounds, int repeats, List<string> questions)
    {
        await using var stub = await StubModelServer.StartAsync();
        stub.Latency = TimeSpan.FromMilliseconds(50);
        var common = new Dictionary<string, string>
        {
            ["Bus__Transport"] = "RabbitMq",
            ["Bus__RabbitMqUri"] = infrastructure.RabbitMqUri,
            ["Storage__Provider"] = "MongoDb",
            ["Storage__ConnectionString"] = infrastructure.MongoUri,
            ["Storage__Database"] = $"load-{Guid.NewGuid():N}",
            ["Models__Default__Endpoint"] = stub.Endpoint,
            ["Models__Default__Model"] = "stub-model",
            ["Models__MaxConcurrentCalls"] = "64",
            ["Models__TimeoutSeconds"] = "30",
            ["Internal__Key"] = InternalKey,
            ["Datasets__BuildOnRunCompleted"] = "false",
        };
        // Each service on its own store: the agent-runner replicas share the run records in MongoDB; memory-store, the
        // single writer of interactions and memories, keeps them in its embedded store file.
        var memoryStoreEnv = new Dictionary<string, string>(common)
        {
            ["Storage__Provider"] = "Embedded",
            ["Storage__EmbeddedPath"] = Path.Combine(Path.GetTempPath(), "stable-alignment-bench", $"memory-{Guid.NewGuid():N}.db"),
        };
        var names = Enumerable.Repeat("AgentRunner", replicas).Concat(["ObserverRater", "ObserverRater"]);
        var services = await Task.WhenAll(names.Select(n => ServiceProcess.StartAsync(n, common)).Append(ServiceProcess.StartAsync("MemoryStore", memoryStoreEnv)));
        try
        {
            var agentRunner = services[0];
            var memoryStore = services[^1];
            using var http = new HttpClient { BaseAddress = agentRunner.BaseAddress };
            http.DefaultRequestHeaders.Add("X-Internal-Key", InternalKey);
            using var memory = new HttpClient { BaseAddress = memoryStore.BaseAddress };
            memory.DefaultRequestHeaders.Add("X-Internal-Key", InternalKey);

            // Warm-up: a first run on a fresh replica is slow (JIT, connections, the response endpoint); RabbitMQ hands
            // start messages round-robin, so one warm-up run per replica warms each of them.
            for (var w = 0; w < replicas; w++)
            {
                await RunOnceAsync(http, 4, 1, questions);
            }

            var rates = new List<double>();
            var busy = new List<double>();
            var duplicated = 0;
            for (var i = 0; i < repeats; i++)
            {
                stub.ResetCounters();
                var clock = Stopwatch.StartNew();
                var runId = await RunOnceAsync(http, grid, rounds, questions, seed: i);
                var wall = clock.Elapsed;
                var records = JsonNode.Parse(await memory.GetStringAsync($"/api/memory/interactions?runId={runId}"))!.AsArray();
                var completed = records.Count(r => r!["status"]!.GetValue<string>() == nameof(InteractionStatus.Completed));
                if (completed != grid * grid * rounds)
                {
                    throw new InvalidOperationException($"{replicas} replicas: {completed} of {grid * grid * rounds} interactions completed.");
                }

                duplicated += records.Count - records.Select(r => r!["id"]!.GetValue<string>()).Distinct().Count();
                rates.Add(completed / wall.TotalSeconds);
                busy.Add(stub.BusyTime.TotalSeconds / (64 * wall.TotalSeconds));
                Console.WriteLine($"  rabbitmq, {replicas} agent-runner(s), run {i + 1}/{repeats}: {rates[^1]:F1} interactions/s, {busy[^1]:P0} busy");
            }

            var sorted = rates.Order().ToArray();
            return new Row($"RabbitMQ, {replicas} agent-runner{(replicas > 1 ? "s" : "")}, 2 observer-raters", sorted[sorted.Length / 2], [.. rates], busy.Order().ToArray()[busy.Count / 2], duplicated);
        }
        finally
        {
            await Task.WhenAll(services.Select(s => s.DisposeAsync().AsTask()));
        }
    }

    private static async Task<string> RunOnceAsync(HttpClient http, int grid, int rounds, List<string> questions, int seed = 0)
    {
        using var started = await http.PostAsJsonAsync("/api/agents/runs", new { gridSize = grid, rounds, seed, questions });
        started.EnsureSuccessStatusCode();
        var location = started.Headers.Location!.ToString();
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync(location);
            if (response.IsSuccessStatusCode && JsonNode.Parse(await response.Content.ReadAsStringAsync()) is { } run
                && run["status"]?.GetValue<string>() is "Completed" or "Incomplete" or "Failed")
            {
                return run["id"]!.GetValue<string>();
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The run at {location} did not end within 10 minutes.");
    }
}
