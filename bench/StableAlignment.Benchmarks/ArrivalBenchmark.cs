using System.Net.Http.Json;
using StableAlignment.ModelServer;

namespace StableAlignment.Benchmarks;

/// <summary>One batching mode at one arrival rate: completion tokens per second, time to first token and latency (seconds).</summary>
public sealed record ArrivalRow(string Mode, double Rate, long Tokens, double Seconds, List<double> FirstToken, List<double> Latency)
{
    public double TokensPerSecond => Tokens / Seconds;
}

/// <summary>
/// <c>sa serve-model</c> under traffic: streaming chat requests arriving as a Poisson process (exponential gaps, seeded)
/// at several rates, against a server in continuous-batching mode and one in per-batch mode, in one run. The rates
/// are multiples of what the server sustains one request at a time, measured first on the same machine, so the table
/// reads the same on a laptop and a GPU server.
/// </summary>
public static class ArrivalBenchmark
{
    public static readonly double[] Loads = [0.5, 2, 8];

    public static async Task<string> RunAsync(string size, int requests, int maxTokens, int threads)
    {
        TorchRuntime.Initialize(threads);
        using var model = new LlamaForCausalLM(LlamaConfig.Preset(size), seed: 1);
        var questions = File.ReadLines(RepositoryRoot.Combine("data", "questions", "sample.txt")).Where(l => l.Trim().Length > 0).ToList();
        var prompts = Enumerable.Range(0, requests).Select(i => questions[i % questions.Count]).ToList();
        var served = ServedModel.From(size, model, new ByteTokenizer(), ServedModel.AlpacaTemplate);

        // The capacity one request at a time: the base of the rates.
        var alone = await ServeAsync(served, "Continuous", async http =>
        {
            var watch = Stopwatch.StartNew();
            foreach (var prompt in prompts.Take(8))
            {
                await StreamAsync(http, size, prompt, maxTokens, seed: 0);
            }

            return 8 / watch.Elapsed.TotalSeconds;
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"arrivals {size}: {alone:F2} requests/s one at a time"));

        var rows = new List<ArrivalRow>();
        foreach (var load in Loads)
        {
            var rate = alone * load;
            foreach (var mode in new[] { "Continuous", "PerBatch" })
            {
                var row = await ServeAsync(served, mode, http => ArriveAsync(http, size, mode, rate, prompts, maxTokens));
                rows.Add(row);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"arrivals {size}, {rate:F2} req/s, {mode}: {row.TokensPerSecond:F0} tokens/s, first token p50 {Percentile(row.FirstToken, 0.5):F2} s p95 {Percentile(row.FirstToken, 0.95):F2} s"));
            }
        }

        return Markdown(size, model.parameters().Sum(p => p.numel()), requests, maxTokens, threads, alone, rows);
    }

    private static async Task<T> ServeAsync<T>(ServedModel served, string mode, Func<HttpClient, Task<T>> run)
    {
        await using var app = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?>
        {
            ["ModelServer:Batching"] = mode, ["ModelServer:MaxBatch"] = "64", ["ModelServer:BatchWindowMilliseconds"] = "10",
        }, served);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(ModelServerHost.Endpoint(app) + "/"), Timeout = TimeSpan.FromMinutes(30) };
        await StreamAsync(http, served.Id, "Warm up.", 4, seed: 0);
        var result = await run(http);
        await app.StopAsync();
        return result;
    }

    /// <summary>Sends every prompt at its arrival time (exponential gaps at <paramref name="rate"/> per second, seed 7) and waits for all.</summary>
    private static async Task<ArrivalRow> ArriveAsync(HttpClient http, string model, string mode, double rate, List<string> prompts, int maxTokens)
    {
        var random = new Random(7);
        var clock = Stopwatch.StartNew();
        var at = 0.0;
        var sent = new List<Task<(double FirstToken, double Latency, int Tokens)>>();
        for (var i = 0; i < prompts.Count; i++)
        {
            at += -Math.Log(1 - random.NextDouble()) / rate;
            var wait = TimeSpan.FromSeconds(at) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            // Answers differ in length, as real ones do: max_tokens uniform in [maxTokens/4, 7·maxTokens/4] (mean maxTokens).
            var seed = i;
            var prompt = prompts[i];
            var budget = (maxTokens / 4) + random.Next((3 * maxTokens / 2) + 1);
            sent.Add(Task.Run(() => StreamAsync(http, model, prompt, budget, seed)));
        }

        var done = await Task.WhenAll(sent);
        return new ArrivalRow(mode, rate, done.Sum(d => (long)d.Tokens), clock.Elapsed.TotalSeconds, [.. done.Select(d => d.FirstToken)], [.. done.Select(d => d.Latency)]);
    }

    /// <summary>One streamed chat request: seconds to its first text, seconds to its end, completion tokens (from the usage chunk).</summary>
    private static async Task<(double FirstToken, double Latency, int Tokens)> StreamAsync(HttpClient http, string model, string prompt, int maxTokens, int seed)
    {
        var watch = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = JsonContent.Create(new
            {
                model, messages = new[] { new { role = "user", content = prompt } }, max_tokens = maxTokens, temperature = 0.7, top_p = 0.9, seed,
                stream = true, stream_options = new { include_usage = true },
            }),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = double.NaN;
        var tokens = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
            {
                continue;
            }

            var chunk = JsonNode.Parse(line["data: ".Length..])!;
            if (double.IsNaN(first) && chunk["choices"]?.AsArray() is [{ } choice, ..] && !string.IsNullOrEmpty((string?)choice["delta"]?["content"]))
            {
                first = watch.Elapsed.TotalSeconds;
            }

            if (chunk["usage"] is JsonObject usage)
            {
                tokens = (int)usage["completion_tokens"]!;
            }
        }

        var latency = watch.Elapsed.TotalSeconds;
        return (double.IsNaN(first) ? latency : first, latency, tokens);
    }

    public static double Percentile(List<double> values, double p)
    {
        var s = values.Order().ToList();
        var rank = p * (s.Count - 1);
        var low = (int)Math.Floor(rank);
        var high = Math.Min(low + 1, s.Count - 1);
        return s[low] + ((s[high] - s[low]) * (rank - low));
    }

    private static string Markdown(string size, long parameters, int requests, int maxTokens, int threads, double alone, List<ArrivalRow> rows)
    {
        var m = Machine.Describe();
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder()
            .AppendLine(c, $"## Continuous batching under Poisson arrivals — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC")
            .AppendLine()
            .AppendLine(c, $"Machine: {m.Cpu}, {m.Cores} cores, {m.MemoryGiB} GiB, {m.Os}, {m.Runtime}; libtorch on the CPU, {(threads == 0 ? "default" : threads.ToString(c))} threads.")
            .AppendLine()
            .AppendLine(string.Create(c, $"Inputs: the `{size}` model ({parameters:N0} parameters, byte vocabulary, random weights, seed 1) served by `sa serve-model`'s host over loopback HTTP, ")
                + string.Create(c, $"max batch 64, batch window 10 ms. Per rate and mode: {requests} streamed `/v1/chat/completions` requests (data/questions/sample.txt, Alpaca template), ")
                + string.Create(c, $"`max_tokens` uniform in [{maxTokens / 4}, {maxTokens / 4 + 3 * maxTokens / 2}] (answers of different lengths, mean {maxTokens}), temperature 0.7, seed = request index, sent at Poisson arrival times (exponential gaps and lengths drawn with seed 7), a fresh server each. ")
                + string.Create(c, $"Rates are multiples of the one-at-a-time capacity measured first: {alone:F2} requests/s. Tokens/s: completion tokens / (first arrival to last answer). ")
                + "Time to first token: from sending to the first streamed text.")
            .AppendLine()
            .AppendLine("| load | rate (req/s) | mode | tokens/s | first token p50 | first token p95 | latency p50 | latency p95 | tokens |")
            .AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            md.AppendLine(string.Create(c, $"| {r.Rate / alone:0.#}× | {r.Rate:F2} | {(r.Mode == "PerBatch" ? "per batch" : "continuous")} | {r.TokensPerSecond:F0} | {Percentile(r.FirstToken, 0.5):F2} s | ")
                + string.Create(c, $"{Percentile(r.FirstToken, 0.95):F2} s | {Percentile(r.Latency, 0.5):F2} s | {Percentile(r.Latency, 0.95):F2} s | {r.Tokens} |"));
        }

        var top = rows.Max(r => r.Rate);
        var (cont, batch) = (rows.Single(r => r.Rate == top && r.Mode == "Continuous"), rows.Single(r => r.Rate == top && r.Mode == "PerBatch"));
        md.AppendLine()
            .AppendLine(string.Create(c, $"At the highest rate ({top:F2} req/s), continuous / per batch: tokens/s **{cont.TokensPerSecond / batch.TokensPerSecond:F2}×**, ")
                + string.Create(c, $"p95 time to first token **{Percentile(cont.FirstToken, 0.95) / Percentile(batch.FirstToken, 0.95):F2}×**, ")
                + string.Create(c, $"p95 latency {Percentile(cont.Latency, 0.95) / Percentile(batch.Latency, 0.95):F2}×."));
        return md.ToString();
    }
}
