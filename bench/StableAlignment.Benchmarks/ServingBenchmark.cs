using System.Net.Http.Json;
using StableAlignment.ModelServer;

namespace StableAlignment.Benchmarks;

public sealed record ServingMode(string Name, int MaxBatch, int Concurrency, List<double> TokensPerSecond, List<double> Seconds, long CompletionTokens)
{
    public double Median => ServingBenchmark.Median(TokensPerSecond);
}

/// <summary>
/// <c>sa serve-model</c> over HTTP (the OpenAI API, as any client calls it): the same 64 chat requests sent one at a
/// time, and all at once with batching off (the queue alone) and on. Aggregate completion tokens per second, median of
/// the repeats, all in one process on one machine.
/// </summary>
public static class ServingBenchmark
{
    public static async Task<string> RunAsync(string size, int requests, int maxTokens, int repeats, int threads)
    {
        TorchRuntime.Initialize(threads);
        using var model = new LlamaForCausalLM(LlamaConfig.Preset(size), seed: 1);
        var parameters = model.parameters().Sum(p => p.numel());
        var questions = File.ReadLines(RepositoryRoot.Combine("data", "questions", "sample.txt")).Where(l => l.Trim().Length > 0).ToList();
        var prompts = Enumerable.Range(0, requests).Select(i => questions[i % questions.Count]).ToList();
        var served = ServedModel.From(size, model, new ByteTokenizer(), ServedModel.AlpacaTemplate);
        var modes = new List<ServingMode>();
        foreach (var (name, maxBatch, concurrency) in new[] { ("one at a time", 1, 1), ($"{requests} concurrent, batching off", 1, requests), ($"{requests} concurrent, batched", requests, requests) })
        {
            await using var app = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?>
            {
                ["ModelServer:MaxBatch"] = maxBatch.ToString(CultureInfo.InvariantCulture),
                ["ModelServer:BatchWindowMilliseconds"] = "10",
            }, served);
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(ModelServerHost.Endpoint(app) + "/"), Timeout = TimeSpan.FromMinutes(30) };
            var perSecond = new List<double>();
            var seconds = new List<double>();
            long tokens = 0;
            await SendAsync(http, size, prompts.Take(2).ToList(), maxTokens, 2); // warm-up
            for (var r = 0; r < repeats; r++)
            {
                var watch = Stopwatch.StartNew();
                tokens = await SendAsync(http, size, prompts, maxTokens, concurrency);
                seconds.Add(watch.Elapsed.TotalSeconds);
                perSecond.Add(tokens / watch.Elapsed.TotalSeconds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"serving {size}, {name}: {tokens} tokens in {watch.Elapsed.TotalSeconds:F1} s = {tokens / watch.Elapsed.TotalSeconds:F0} tokens/s"));
            }

            await app.StopAsync();
            modes.Add(new ServingMode(name, maxBatch, concurrency, perSecond, seconds, tokens));
        }

        var m = Machine.Describe();
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"# Model serving — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Machine: {m.Cpu}, {m.Cores} cores, {m.MemoryGiB} GiB, {m.Os}, {m.Runtime}; libtorch on the CPU, {(threads == 0 ? "default" : threads.ToString(CultureInfo.InvariantCulture))} threads.")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Inputs: the `{size}` model ({parameters:N0} parameters, byte vocabulary, random weights, seed 1) served by `sa serve-model`'s host over loopback HTTP; "
                + $"{requests} `/v1/chat/completions` requests (the questions of data/questions/sample.txt in the Alpaca template), `max_tokens` {maxTokens}, temperature 0.7, top-p 0.9, "
                + $"each request's sampling seed fixed by its prompt; {repeats} repeats per mode after a warm-up, a fresh server per mode. Tokens/s: completion tokens of all requests / wall time.")
            .AppendLine()
            .AppendLine("| mode | max batch | in flight | median tokens/s | repeats (tokens/s) | median wall time | completion tokens |")
            .AppendLine("|---|---|---|---|---|---|---|");
        foreach (var mode in modes)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"| {mode.Name} | {mode.MaxBatch} | {mode.Concurrency} | {mode.Median:F0} | {string.Join(", ", mode.TokensPerSecond.Select(t => t.ToString("F0", CultureInfo.InvariantCulture)))} | {Median(mode.Seconds):F1} s | {mode.CompletionTokens} |");
        }

        report.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Batching ratio ({requests} concurrent batched / one at a time, medians): **{modes[2].Median / modes[0].Median:F1}×**; "
                + $"batched / concurrent with batching off: {modes[2].Median / modes[1].Median:F1}×.");
        return report.ToString();
    }

    private static async Task<long> SendAsync(HttpClient http, string model, List<string> prompts, int maxTokens, int concurrency)
    {
        using var gate = new SemaphoreSlim(concurrency);
        var counts = await Task.WhenAll(prompts.Select(async p =>
        {
            await gate.WaitAsync();
            try
            {
                using var response = await http.PostAsJsonAsync("chat/completions", new { model, messages = new[] { new { role = "user", content = p } }, max_tokens = maxTokens, temperature = 0.7, top_p = 0.9 });
                response.EnsureSuccessStatusCode();
                var body = await response.Content.ReadFromJsonAsync<JsonObject>();
                return (long)body!["usage"]!["completion_tokens"]!;
            }
            finally
            {
                gate.Release();
            }
        }));
        return counts.Sum();
    }

    public static double Median(List<double> values)
    {
        var s = values.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }
}
