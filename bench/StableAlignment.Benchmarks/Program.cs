using StableAlignment.Benchmarks;

// make bench: medians of several runs, written with the machine, the date and the inputs to bench/results/.
if (args.Length == 2 && args[0] == TrainerBenchmark.ChildArgument)
{
    TrainerBenchmark.Child(args[1]);
    return;
}

if (args.Length == 3 && args[0] == PrecisionBenchmark.ChildArgument)
{
    await PrecisionBenchmark.ChildAsync(args[1], args[2]);
    return;
}

if (Environment.GetEnvironmentVariable("SA_BENCH_ONLY") == "precision")
{
    var pm = Machine.Describe();
    var precisionReport = $"# Training precision on the CPU — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC\n\nMachine: {pm.Cpu}, {pm.Cores} cores, {pm.MemoryGiB} GiB, {pm.Os}, {pm.Runtime}\n\n"
        + PrecisionBenchmark.Markdown(await PrecisionBenchmark.RunAsync("small"));
    var precisionFile = Path.Combine(RepositoryRoot.Combine("bench", "results"), $"precision-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
    await File.WriteAllTextAsync(precisionFile, precisionReport);
    Console.WriteLine(precisionReport);
    Console.WriteLine($"written: {precisionFile}");
    return;
}

if (args.Length == 2 && args[0] == EvaluatorBenchmark.ChildArgument)
{
    EvaluatorBenchmark.Child(args[1]);
    return;
}

if (Environment.GetEnvironmentVariable("SA_BENCH_ONLY") == "evaluator")
{
    Console.WriteLine(JsonSerializer.Serialize(await EvaluatorBenchmark.RunAsync("small")));
    return;
}

if (args.Length == 3 && args[0] == DatasetBenchmark.ChildArgument)
{
    await DatasetBenchmark.ChildAsync(int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture));
    return;
}

if (Environment.GetEnvironmentVariable("SA_BENCH_ONLY") == "serving")
{
    var size = Environment.GetEnvironmentVariable("SA_BENCH_SIZE") ?? "small";
    var serving = await ServingBenchmark.RunAsync(size, requests: 64, maxTokens: 64, repeats: 3, threads: 0)
        + "\n" + await ArrivalBenchmark.RunAsync(size, requests: int.Parse(Environment.GetEnvironmentVariable("SA_BENCH_REQUESTS") ?? "48", CultureInfo.InvariantCulture), maxTokens: 64, threads: 0);
    var servingFile = Path.Combine(RepositoryRoot.Combine("bench", "results"), $"serving-{size}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
    await File.WriteAllTextAsync(servingFile, serving);
    Console.WriteLine(serving);
    Console.WriteLine($"written: {servingFile}");
    return;
}

if (Environment.GetEnvironmentVariable("SA_BENCH_ONLY") == "tokenizers")
{
    var m = Machine.Describe();
    var tokenizerReport = $"# Tokenizers — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC\n\nMachine: {m.Cpu}, {m.Cores} cores, {m.MemoryGiB} GiB, {m.Os}, {m.Runtime}\n\n{TokenizerBenchmark.Markdown(TokenizerBenchmark.Run())}";
    var tokenizerFile = Path.Combine(RepositoryRoot.Combine("bench", "results"), $"tokenizers-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
    await File.WriteAllTextAsync(tokenizerFile, tokenizerReport);
    Console.WriteLine(tokenizerReport);
    Console.WriteLine($"written: {tokenizerFile}");
    return;
}

var questions = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 500;
var repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
var outDir = Directory.CreateDirectory(RepositoryRoot.Combine("bench", "results")).FullName;

if (Environment.GetEnvironmentVariable("SA_BENCH_ONLY") == "trainer")
{
    foreach (var size in new[] { "tiny", "small" })
    {
        Console.WriteLine(JsonSerializer.Serialize(await TrainerBenchmark.RunAsync(size)));
    }

    return;
}

if (Environment.GetEnvironmentVariable("SA_BENCH_ONLY") == "compare")
{
    await ComparisonBenchmark.RunAsync([1, 2, 3], epochs: 20);
    return;
}

if (Environment.GetEnvironmentVariable("SA_BENCH_ONLY") == "dataset")
{
    Console.WriteLine(JsonSerializer.Serialize(await DatasetBenchmark.RunAsync(100_000, 3)));
    return;
}

if (Environment.GetEnvironmentVariable("SA_BENCH_ONLY") == "load")
{
    var load = await LoadBenchmark.RunAsync(grid: 10, rounds: 2, repeats: 3);
    var loadFile = Path.Combine(RepositoryRoot.Combine("bench", "results"), $"load-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
    await File.WriteAllTextAsync(loadFile, load);
    Console.WriteLine(load);
    Console.WriteLine($"written: {loadFile}");
    return;
}

if (Environment.GetEnvironmentVariable("SA_BENCH_ONLY") == "sandbox")
{
    var only = await SandboxBenchmark.RunAsync(grid: 10, rounds: 2, latencyMs: 50, slots: 64, repeats: 3);
    Console.WriteLine($"median {only.MedianPerSecond:F1}/s, {only.MedianBusyShare:P0} busy");
    return;
}

await using var infrastructure = await Infrastructure.StartAsync();
var store = TestConfiguration.TempPath("bench");
var results = new List<PipelineResult>
{
    await PipelineBenchmark.RunAsync("in-memory", new Dictionary<string, string?>
    {
        ["Storage:EmbeddedPath"] = store + "-memory.db",
    }, questions, repeats),
    await PipelineBenchmark.RunAsync("rabbitmq", new Dictionary<string, string?>
    {
        ["Bus:Transport"] = "RabbitMq",
        ["Bus:RabbitMqUri"] = infrastructure.RabbitMqUri,
        ["Storage:EmbeddedPath"] = store + "-rabbit.db",
    }, questions, repeats),
};

var sandbox = await SandboxBenchmark.RunAsync(grid: 10, rounds: 2, latencyMs: 50, slots: 64, repeats: 3);
var dataset = await DatasetBenchmark.RunAsync(100_000, 3);
var trainer = new[] { await TrainerBenchmark.RunAsync("tiny"), await TrainerBenchmark.RunAsync("small") };
var precision = await PrecisionBenchmark.RunAsync("small");
var comparison = await ComparisonBenchmark.RunAsync([1, 2, 3], epochs: 20);
var evaluator = await EvaluatorBenchmark.RunAsync("small");
var tokenizers = TokenizerBenchmark.Run();

var machine = Machine.Describe();
var date = DateTime.UtcNow;
var report = new StringBuilder()
    .AppendLine($"# Benchmarks — {date:yyyy-MM-dd HH:mm} UTC")
    .AppendLine()
    .AppendLine("## Pipeline overhead")
    .AppendLine()
    .AppendLine($"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.MemoryGiB} GiB, {machine.Os}, {machine.Runtime}")
    .AppendLine($"Inputs: {questions} questions per run, {repeats} runs after a 50-question warm-up; instant in-process model "
        + "(Semantic Kernel chat interface); embedded store; one draft + two observer ratings (request/response) per interaction.")
    .AppendLine()
    .AppendLine("| transport | median interactions/s | min | max |")
    .AppendLine("|---|---|---|---|");
foreach (var r in results)
{
    report.AppendLine(CultureInfo.InvariantCulture, $"| {r.Transport} | {r.MedianPerSecond:F0} | {r.MinPerSecond:F0} | {r.MaxPerSecond:F0} |");
}

report.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Ratio in-memory / RabbitMQ (medians): {results[0].MedianPerSecond / results[1].MedianPerSecond:F2}");
report.AppendLine()
    .AppendLine("## SANDBOX throughput")
    .AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"Inputs: {sandbox.Grid}×{sandbox.Grid} world, {sandbox.Rounds} rounds, stub OpenAI-compatible server at a fixed {sandbox.LatencyMs} ms per call "
        + $"(chat and embeddings, over loopback HTTP), {sandbox.Slots} calls in flight allowed, {sandbox.Repeats} runs after a warm-up; in-memory bus, embedded store; "
        + $"{sandbox.CallsPerRun} model calls per run.")
    .AppendLine()
    .AppendLine("| median interactions/s | median share of slots busy | runs (interactions/s) | original order's bound |")
    .AppendLine("|---|---|---|---|")
    .AppendLine(CultureInfo.InvariantCulture, $"| {sandbox.MedianPerSecond:F1} | {sandbox.MedianBusyShare:P0} | {string.Join(", ", sandbox.PerSecond.Select(r => r.ToString("F1", CultureInfo.InvariantCulture)))} | {sandbox.OriginalBound:F0}/s |")
    .AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"Speed-up over the original order's bound: {sandbox.MedianPerSecond / sandbox.OriginalBound:F1}×");
report.AppendLine()
    .AppendLine("## Dataset building")
    .AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"Inputs: {dataset.Records:N0} synthetic records in the original export form (100 agent files, 4 peers each, about 10 % unparseable ratings), "
        + $"5:1:1 sampling, authors + alpaca + trl written; {dataset.Repeats} runs in a child process; {dataset.Samples:N0} samples in {dataset.Groups:N0} groups kept.")
    .AppendLine()
    .AppendLine("| median records/s | runs (records/s) | peak resident memory |")
    .AppendLine("|---|---|---|")
    .AppendLine(CultureInfo.InvariantCulture, $"| {dataset.MedianRecordsPerSecond:F0} | {string.Join(", ", dataset.RecordsPerSecond.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))} | {dataset.PeakMemoryMiB:F0} MiB |");
report.AppendLine()
    .AppendLine("## Trainer")
    .AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"Inputs: batch {trainer[0].Batch} × {trainer[0].Length} tokens, byte vocabulary, AdamW, fp32 on the CPU with {trainer[0].Threads} threads; "
        + $"median of 6 steps after 2 warm-up steps, each size in its own process. Peak: fp32 2048×2048 matrix products through the same libtorch, median of 5. "
        + $"Model FLOPs per token: 6·parameters + 12·layers·length·width.")
    .AppendLine()
    .AppendLine("| model | parameters | step | tokens/s | model GFLOP/s | machine peak GFLOP/s | utilisation | peak memory |")
    .AppendLine("|---|---|---|---|---|---|---|---|");
foreach (var t in trainer)
{
    report.AppendLine(CultureInfo.InvariantCulture, $"| {t.Size} | {t.Parameters:N0} | {t.MedianStepSeconds:F3} s | {t.TokensPerSecond:F0} | {t.ModelGflops:F1} | {t.PeakGflops:F1} | {t.Utilisation:P0} | {t.PeakMemoryMiB:F0} MiB |");
}

report.AppendLine()
    .AppendLine("## Training precision (CPU)")
    .AppendLine()
    .Append(PrecisionBenchmark.Markdown(precision));

static double Mean(IEnumerable<double> v) => v.Average();
report.AppendLine()
    .AppendLine("## Stable Alignment vs SFT (held-out preference)")
    .AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"Inputs: data/alignment/rated.jsonl (bundled, 24 training and 6 held-out questions, 3 rated answers each), the tiny model from the same random "
        + $"initialisation per seed, 20 epochs, accumulation 4, lr 1e-3, M = 10, λ = 0.2; SFT trains on the best answer only. NLL gap: mean NLL of the worse-rated "
        + $"held-out answers minus the best one's (larger = prefers the best more). Pairwise accuracy over {comparison[0].Base.Pairs} held-out pairs.")
    .AppendLine()
    .AppendLine("| seed | gap: base | gap: SFT | gap: Stable Alignment | accuracy: base | SFT | Stable Alignment |")
    .AppendLine("|---|---|---|---|---|---|---|");
foreach (var c in comparison)
{
    report.AppendLine(CultureInfo.InvariantCulture, $"| {c.Seed} | {c.Base.NllGap:F3} | {c.Sft.NllGap:F3} | {c.StableAlignment.NllGap:F3} | {c.Base.PairwiseAccuracy:P0} | {c.Sft.PairwiseAccuracy:P0} | {c.StableAlignment.PairwiseAccuracy:P0} |");
}

report.AppendLine(CultureInfo.InvariantCulture, $"| mean | {Mean(comparison.Select(c => c.Base.NllGap)):F3} | {Mean(comparison.Select(c => c.Sft.NllGap)):F3} | {Mean(comparison.Select(c => c.StableAlignment.NllGap)):F3} | "
    + $"{Mean(comparison.Select(c => c.Base.PairwiseAccuracy)):P0} | {Mean(comparison.Select(c => c.Sft.PairwiseAccuracy)):P0} | {Mean(comparison.Select(c => c.StableAlignment.PairwiseAccuracy)):P0} |");

report.AppendLine()
    .AppendLine("## Evaluator")
    .AppendLine()
    .AppendLine(CultureInfo.InvariantCulture, $"Inputs: the {evaluator.Size} model, {evaluator.Threads} threads; likelihood scoring of {evaluator.Sequences} prompt + option sequences (~320 bytes each, two options per item); "
        + $"greedy generation of {evaluator.NewTokens} new tokens after a short prompt, median of 3, with and without the key/value cache.")
    .AppendLine()
    .AppendLine("| likelihood sequences/s | generation tokens/s with cache | without cache | speed-up |")
    .AppendLine("|---|---|---|---|")
    .AppendLine(CultureInfo.InvariantCulture, $"| {evaluator.SequencesPerSecond:F1} | {evaluator.CachedTokensPerSecond:F0} | {evaluator.UncachedTokensPerSecond:F0} | {evaluator.Speedup:F1}× |");

report.AppendLine()
    .AppendLine("## Tokenizers")
    .AppendLine()
    .Append(TokenizerBenchmark.Markdown(tokenizers));

var stem = Path.Combine(outDir, $"pipeline-{date:yyyyMMdd-HHmmss}");
await File.WriteAllTextAsync(stem + ".md", report.ToString());
await File.WriteAllTextAsync(stem + ".json", JsonSerializer.Serialize(new { date, machine, questions, repeats, results, sandbox, dataset, trainer, precision, comparison, evaluator, tokenizers }, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine(report);
Console.WriteLine($"written: {stem}.md");
