using System.CommandLine;
using Spectre.Console;
using StableAlignment.Data;
using StableAlignment.DatasetBuilder;
using StableAlignment.Storage;

namespace StableAlignment.Cli;

/// <summary>Where <c>sa dataset build</c> reads records from and how it samples and writes them.</summary>
public sealed record DatasetArguments(
    Guid[] Runs, DirectoryInfo[] FromExports, string Ratios, bool NoSampling, int Seed, double Holdout, string Formats, DirectoryInfo Out);

/// <summary><c>sa dataset build</c>: imitation, self-critic and realignment data from runs in the local store or export folders.</summary>
public static class DatasetBuildCommand
{
    public static Command Create(CliOptions cli)
    {
        var runs = new Option<Guid[]>("--run") { Description = "Build from this run in the local store (repeat to pool several runs)", DefaultValueFactory = _ => [] };
        var exports = new Option<DirectoryInfo[]>("--from-export") { Description = "Build from an export folder (external_memory/agent_<id>.jsonl, the original form; repeat to pool several)", DefaultValueFactory = _ => [] };
        var ratios = new Option<string>("--ratios") { Description = "Imitation:self-critic:realignment", DefaultValueFactory = _ => "5:1:1" };
        var noSampling = new Option<bool>("--no-sampling") { Description = "Keep every sample" };
        var seed = new Option<int>("--seed") { Description = "Seed for sampling and the held-out split", DefaultValueFactory = _ => 0 };
        var holdout = new Option<double>("--holdout") { Description = "Share of questions held out", DefaultValueFactory = _ => 0 };
        var format = new Option<string>("--format") { Description = "authors, alpaca, trl (comma-separated)", DefaultValueFactory = _ => "authors,alpaca,trl" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Dataset folder", DefaultValueFactory = _ => new DirectoryInfo("artifacts/datasets/latest") };
        var command = new Command("build", "Build imitation, self-critic and realignment data") { runs, exports, ratios, noSampling, seed, holdout, format, output };
        command.SetAction((p, ct) => BuildAsync(new ModelOverrides(null, null, null), new DatasetArguments(
            p.GetValue(runs) ?? [], p.GetValue(exports) ?? [], p.GetValue(ratios)!, p.GetValue(noSampling), p.GetValue(seed), p.GetValue(holdout),
            p.GetValue(format)!, p.GetValue(output)!), ct));
        CliOptions.Excludes(command, noSampling, "it keeps every sample, so there are no ratios to sample by", ratios);
        return CliOptions.Example(command, "sa dataset build --from-export out/sim --holdout 0.1 --out out/dataset");
    }

    public static async Task<int> BuildAsync(ModelOverrides models, DatasetArguments a, CancellationToken ct)
    {
        if (a.Runs.Length + a.FromExports.Length == 0)
        {
            Console.Error.WriteLine("Give at least one source: --run RUN_ID or --from-export DIR (each may be repeated to pool several worlds).");
            return 2;
        }

        if (Settings(a) is not var (options, formats))
        {
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
            DatasetStatsCommand.Print(manifest.Stats);
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

    /// <summary>The sampling and the formats a build asks for, or null after printing what is wrong with them.</summary>
    private static (BuildOptions Options, List<DatasetFormat> Formats)? Settings(DatasetArguments a)
    {
        try
        {
            if (a.Holdout is < 0 or >= 1)
            {
                Console.Error.WriteLine("--holdout must be within [0, 1).");
                return null;
            }

            return (new BuildOptions(a.NoSampling ? null : BuildOptions.ParseRatios(a.Ratios), a.Seed, a.Holdout),
                [.. a.Formats.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(DatasetFormats.Parse)]);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
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
