using System.Text.Json;
using Spectre.Console;
using StableAlignment.DatasetBuilder;
using StableAlignment.Storage;

namespace StableAlignment.Cli;

public sealed record DatasetArguments(
    Guid? Run, DirectoryInfo? FromExport, string Ratios, bool NoSampling, int Seed, double Holdout, string Formats, DirectoryInfo Out);

/// <summary><c>sa dataset build</c> and <c>sa dataset stats</c>.</summary>
public static class DatasetCommand
{
    public static async Task<int> BuildAsync(ModelOverrides models, DatasetArguments a, CancellationToken ct)
    {
        if ((a.Run is null) == (a.FromExport is null))
        {
            Console.Error.WriteLine("Give exactly one source: --run RUN_ID or --from-export DIR.");
            return 2;
        }

        BuildOptions options;
        List<DatasetFormat> formats;
        try
        {
            options = new BuildOptions(a.NoSampling ? null : BuildOptions.ParseRatios(a.Ratios), a.Seed, a.Holdout);
            formats = [.. a.Formats.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseFormat)];
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
            IAsyncEnumerable<AlignmentRecord> records;
            string source;
            if (a.Run is { } runId)
            {
                app = AppFactory.Build(models, "http://127.0.0.1:0", [AppFactory.StorePath("artifacts/store/stable-alignment.db")]);
                if (await app.Services.GetRequiredService<IRunRepository>().GetAsync(runId, ct) is null)
                {
                    Console.Error.WriteLine($"No run {runId} in this store.");
                    return 2;
                }

                records = RecordSources.FromStoreAsync(app.Services.GetRequiredService<IInteractionRepository>(), runId, ct);
                source = $"run:{runId}";
            }
            else
            {
                records = RecordSources.FromExportAsync(a.FromExport!.FullName, ct);
                source = $"export:{a.FromExport.FullName}";
            }

            var manifest = await AnsiConsole.Status().StartAsync("building the dataset…", async _ =>
                await DatasetBuild.RunAsync(records, options, formats, a.Out.FullName, source, a.Run is { } id ? [id] : [], ct));
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

        Print(JsonSerializer.Deserialize<DatasetStats>(await File.ReadAllTextAsync(path, ct), DatasetBuild.Json)!);
        return 0;
    }

    private static DatasetFormat ParseFormat(string text) => text.ToLowerInvariant() switch
    {
        "authors" => DatasetFormat.Authors,
        "alpaca" => DatasetFormat.Alpaca,
        "trl" => DatasetFormat.Trl,
        _ => throw new FormatException($"Unknown format '{text}' (use authors, alpaca, trl)."),
    };

    private static void Print(DatasetStats s)
    {
        var table = new Table().AddColumns("", "imitation", "self-critic", "realignment");
        void Row(string name, Dictionary<string, long> values) =>
            table.AddRow(name, $"{values["imitation"]}", $"{values["self-critic"]}", $"{values["realignment"]}");
        Row("made", s.Candidates);
        Row("dropped: invalid rating", s.DroppedInvalidRating);
        Row("dropped: empty text", s.DroppedEmptyText);
        table.AddRow("dropped: rating did not rise above before and 4", "-", "-", $"{s.DroppedRealignmentCondition}");
        Row("sampled out", s.SampledOut);
        Row("dropped: duplicate response", s.DroppedDuplicates);
        Row("kept (train)", s.KeptTrain);
        Row("kept (held out)", s.KeptHeldout);
        AnsiConsole.Write(table);
        Console.WriteLine($"{s.Records} records; {s.GroupsTrain} training groups, {s.GroupsHeldout} held-out groups");
    }
}
