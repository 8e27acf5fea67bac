using StableAlignment.Data;
using StableAlignment.DatasetBuilder;

namespace StableAlignment.Benchmarks;

public sealed record DatasetResult(int Records, int Repeats, double MedianRecordsPerSecond, double[] RecordsPerSecond, double PeakMemoryMiB, long Groups, long Samples);

/// <summary>
/// Building from an export folder of synthetic records in the original form (100 agent files), with 5:1:1
/// sampling and all three formats. Runs in a child process so that its peak resident memory is its own.
/// </summary>
public static class DatasetBenchmark
{
    public const string ChildArgument = "--dataset-child";

    public static Task<DatasetResult> RunAsync(int records, int repeats) =>
        ChildProcess.RunAsync<DatasetResult>(ChildArgument, records.ToString(System.Globalization.CultureInfo.InvariantCulture), repeats.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The child: writes the records, builds <paramref name="repeats"/> times, prints one JSON line.</summary>
    public static async Task ChildAsync(int records, int repeats)
    {
        var root = Path.Combine(Path.GetTempPath(), "stable-alignment-bench", Guid.NewGuid().ToString("N"));
        var export = Path.Combine(root, "export");
        WriteExport(export, records);
        var rates = new List<double>();
        DatasetManifest? manifest = null;
        for (var i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            manifest = await DatasetBuild.RunAsync(RecordSources.FromExportAsync(export), new BuildOptions(BuildOptions.PaperRatios, Seed: i),
                [DatasetFormat.Authors, DatasetFormat.Alpaca, DatasetFormat.Trl], Path.Combine(root, $"out-{i}"), "bench");
            rates.Add(records / clock.Elapsed.TotalSeconds);
            Console.Error.WriteLine($"  dataset run {i + 1}/{repeats}: {rates[^1]:F0} records/s");
        }

        Directory.Delete(root, recursive: true);
        var s = manifest!.Stats;
        var sorted = rates.Order().ToArray();
        Console.WriteLine(JsonSerializer.Serialize(new DatasetResult(records, repeats, sorted[sorted.Length / 2], [.. rates], ChildProcess.PeakResidentMiB(),
            s.GroupsTrain + s.GroupsHeldout, s.KeptTrain.Values.Sum() + s.KeptHeldout.Values.Sum())));
    }


    private static void WriteExport(string folder, int records)
    {
        var memory = Directory.CreateDirectory(Path.Combine(folder, "external_memory")).FullName;
        var rng = new Random(1);
        const int agents = 100;
        for (var agent = 0; agent < agents; agent++)
        {
            var array = new JsonArray();
            for (var i = agent; i < records; i += agents)
            {
                var q = $"Synthetic question {i % 5000}: is it acceptable to {Words(rng, 6)}?";
                JsonNode Score() => rng.Next(10) == 0 ? (rng.Next(2) == 0 ? -1 : 8) : rng.Next(1, 8);
                array.Add(new JsonObject
                {
                    ["agent_id"] = agent, ["label"] = "good", ["iteration"] = i / agents, ["question"] = q,
                    ["draft_answer"] = $"Draft {i}: {Words(rng, 40)}",
                    ["target_id"] = new JsonArray(1, 2, 3, 4),
                    ["feedback"] = new JsonArray(Words(rng, 12), Words(rng, 12), Words(rng, 12), Words(rng, 12)),
                    ["rating"] = new JsonArray(Score(), Score(), Score(), Score()),
                    ["revised_answer"] = $"Revised {i}: {Words(rng, 40)}",
                    ["gen_moral_score_before"] = Score(), ["gen_moral_score_after"] = Score(),
                });
            }

            File.WriteAllText(Path.Combine(memory, $"agent_{agent}.jsonl"), array.ToJsonString());
        }
    }

    private static readonly string[] Vocabulary = ["kind", "honest", "people", "should", "help", "never", "always", "friend", "truth", "harm", "share", "care", "fair", "trust", "respect", "choice"];

    private static string Words(Random rng, int n) => string.Join(' ', Enumerable.Range(0, n).Select(_ => Vocabulary[rng.Next(Vocabulary.Length)]));
}
