using System.Globalization;
using System.Text;
using System.Text.Json;
using StableAlignment.Benchmarks;
using StableAlignment.Testing;

// make bench: medians of several runs, written with the machine, the date and the inputs to bench/results/.
var questions = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 500;
var repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
var outDir = Directory.CreateDirectory(RepositoryRoot.Combine("bench", "results")).FullName;

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

var machine = Machine.Describe();
var date = DateTime.UtcNow;
var report = new StringBuilder()
    .AppendLine($"# Pipeline overhead — {date:yyyy-MM-dd HH:mm} UTC")
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
var stem = Path.Combine(outDir, $"pipeline-{date:yyyyMMdd-HHmmss}");
await File.WriteAllTextAsync(stem + ".md", report.ToString());
await File.WriteAllTextAsync(stem + ".json", JsonSerializer.Serialize(new { date, machine, questions, repeats, results }, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine(report);
Console.WriteLine($"written: {stem}.md");
