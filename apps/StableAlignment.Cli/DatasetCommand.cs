using Spectre.Console;
using StableAlignment.Data;
using StableAlignment.DatasetBuilder;
using StableAlignment.Storage;

namespace StableAlignment.Cli;

public sealed record DatasetArguments(
    Guid[] Runs, DirectoryInfo[] FromExports, string Ratios, bool NoSampling, int Seed, double Holdout, string Formats, DirectoryInfo Out);

/// <summary><c>sa dataset build</c> and <c>sa dataset stats</c>.</summary>
public static class DatasetCommand
{
    public static async Task<int> BuildAsync(ModelOverrides models, DatasetArguments a, CancellationToken ct)
    {
        if (a.Runs.Length + a.FromExports.Length == 0)
        {
            Console.Error.WriteLine("Give at least one source: --run RUN_ID or --from-export DIR (each may be repeated to pool several worlds).");
            return 2;
        }

        BuildOptions options;
        List<DatasetFormat> formats;
        try
        {
            options = new BuildOptions(a.NoSampling ? null : BuildOptions.ParseRatios(a.Ratios), a.Seed, a.Holdout);
            formats = [.. a.Formats.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(DatasetFormats.Parse)];
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        if (a.Holdout is < 0 or >= 1)
        {
            Console.Error.WriteLine("--holdout must be within [0, 1).");
            return 2;
        }

        WebApplication? app = null;
        try
        {
            var sources = new List<(string Name, IAsyncEnumerable<AlignmentRecord> Records)>();
            if (a.Runs.Length > 0)
            {
                app = AppFactory.Build(models, "http://127.0.0.1:0", [AppFactory.StorePath("artifacts/store/stable-alignment.db")]);
                foreach (var runId in a.Runs.Distinct())
                {
                    if (await app.Services.GetRequiredService<IRunRepository>().GetAsync(runId, ct) is null)
                    {
                        Console.Error.WriteLine($"No run {runId} in this store.");
                        return 2;
                    }

                    sources.Add(($"run:{runId}", FromStoreAsync(app.Services.GetRequiredService<IInteractionRepository>(), runId, ct)));
                }
            }

            foreach (var folder in a.FromExports.DistinctBy(f => f.FullName))
            {
                sources.Add(($"export:{folder.FullName}", RecordSources.FromExportAsync(folder.FullName, ct)));
            }

            // Several worlds pool into one dataset (as the paper's data pooled several runs); the id covers every source.
            var records = RecordSources.Concat(sources.Select(x => x.Records));
            var source = string.Join("+", sources.Select(x => x.Name));
            var manifest = await AnsiConsole.Status().StartAsync("building the dataset…", async _ =>
                await DatasetBuild.RunAsync(records, options, formats, a.Out.FullName, source, [.. a.Runs.Distinct()], ct));
            Print(manifest.Stats);
            Console.WriteLine($"dataset {manifest.DatasetId}: {string.Join(", ", manifest.Files)} in {a.Out.FullName}");
            return 0;
        }
        catch (Exception e) when (e is RecordFormatException or FileNotFoundException or DirectoryNotFoundException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        finally
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
        }
    }

    public static async Task<int> StatsAsync(DirectoryInfo folder, CancellationToken ct)
    {
        var path = Path.Combine(folder.FullName, "stats.json");
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"No stats.json in {folder.FullName}: is it a dataset folder?");
            return 2;
        }

        Print(StableAlignment.Primitives.JsonLines.ReadJson<DatasetStats>(path, DatasetBuild.Json));
        return 0;
    }

    private static void Print(DatasetStats s)
    {
        var table = new Table().AddColumns("", "imitation", "self-critic", "realignment");
        void Row(string name, Dictionary<string, long> values) =>
            table.AddTextRow(name, $"{values["imitation"]}", $"{values["self-critic"]}", $"{values["realignment"]}");
        Row("made", s.Candidates);
        Row("dropped: invalid rating", s.DroppedInvalidRating);
        Row("dropped: empty text", s.DroppedEmptyText);
        table.AddTextRow("dropped: rating did not rise above before and 4", "-", "-", $"{s.DroppedRealignmentCondition}");
        Row("sampled out", s.SampledOut);
        Row("dropped: duplicate response", s.DroppedDuplicates);
        Row("kept (train)", s.KeptTrain);
        Row("kept (held out)", s.KeptHeldout);
        AnsiConsole.Write(table);
        Console.WriteLine($"{s.Records} records; {s.GroupsTrain} training groups, {s.GroupsHeldout} held-out groups");
    }

    /// <summary>
    /// A run's completed records read straight from the embedded store file: the command runs no services, so it reads
    /// what memory-store wrote, converted as memory-store's <c>ListInteractions</c> answer converts them.
    /// </summary>
    private static async IAsyncEnumerable<AlignmentRecord> FromStoreAsync(IInteractionRepository interactions, Guid runId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var r in await interactions.ListByRunAsync(runId, ct))
        {
            if (r.Status == InteractionStatus.Completed)
            {
                yield return AlignmentRecord.From(StableAlignment.MemoryStore.ListInteractionsConsumer.ToMessage(r));
            }
        }
    }
}
