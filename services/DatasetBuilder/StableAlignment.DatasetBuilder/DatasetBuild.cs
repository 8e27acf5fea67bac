using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StableAlignment.Data;

namespace StableAlignment.DatasetBuilder;

/// <summary>Provenance and statistics of a built dataset, written as <c>manifest.json</c> beside its files.</summary>
public sealed record DatasetManifest
{
    public required string DatasetId { get; init; }
    public required string Source { get; init; }
    public required string Parameters { get; init; }
    public IReadOnlyList<Guid> RunIds { get; init; } = [];
    public required IReadOnlyList<string> Files { get; init; }
    public required DatasetStats Stats { get; init; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>Builds a dataset folder: one file per format and split, <c>stats.json</c> and <c>manifest.json</c>.</summary>
public static class DatasetBuild
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The same source and parameters always give the same id.</summary>
    public static DatasetId IdFor(string source, BuildOptions options) =>
        DatasetId.Parse("ds-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{source}|{options.Describe()}")))[..16].ToLowerInvariant());

    public static async Task<DatasetManifest> RunAsync(
        IAsyncEnumerable<AlignmentRecord> records,
        BuildOptions options,
        IReadOnlyList<DatasetFormat> formats,
        string folder,
        string source,
        IReadOnlyList<Guid>? runIds = null,
        CancellationToken ct = default)
    {
        // Built beside the target and moved into place at the end: a failed build leaves nothing, and readers never see half a dataset.
        var id = IdFor(source, options);
        var target = Path.GetFullPath(folder);
        var building = $"{Path.TrimEndingDirectorySeparator(target)}.building-{Guid.NewGuid():N}";
        Directory.CreateDirectory(building);
        try
        {
            var manifest = await BuildIntoAsync(records, options, formats, building, id, source, runIds, ct);
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }

            Directory.Move(building, target);
            return manifest;
        }
        finally
        {
            if (Directory.Exists(building))
            {
                Directory.Delete(building, recursive: true);
            }
        }
    }

    private static async Task<DatasetManifest> BuildIntoAsync(
        IAsyncEnumerable<AlignmentRecord> records, BuildOptions options, IReadOnlyList<DatasetFormat> formats, string folder, string id,
        string source, IReadOnlyList<Guid>? runIds, CancellationToken ct)
    {
        var engine = new DatasetEngine(options, Path.Combine(folder, ".work"));
        var writers = formats.Distinct().Select(f => (Format: f, Writer: new DatasetWriter(folder, f))).ToList();
        try
        {
            await foreach (var group in engine.BuildAsync(records, ct))
            {
                foreach (var (_, writer) in writers)
                {
                    await writer.WriteAsync(group, ct);
                }
            }
        }
        finally
        {
            foreach (var (_, writer) in writers)
            {
                await writer.DisposeAsync();
            }

            if (Directory.Exists(Path.Combine(folder, ".work")))
            {
                Directory.Delete(Path.Combine(folder, ".work"), recursive: true);
            }
        }

        var files = writers.SelectMany(w => new[] { false, true }.Select(h => DatasetWriter.FileName(w.Format, h)))
            .Where(f => File.Exists(Path.Combine(folder, f))).ToList();
        var manifest = new DatasetManifest
        {
            DatasetId = id, Source = source, Parameters = options.Describe(), RunIds = runIds ?? [], Files = files,
            Stats = engine.Stats, CreatedAt = DateTime.UtcNow,
        };
        await File.WriteAllTextAsync(Path.Combine(folder, "stats.json"), JsonSerializer.Serialize(engine.Stats, Json), ct);
        await File.WriteAllTextAsync(Path.Combine(folder, "manifest.json"), JsonSerializer.Serialize(manifest, Json), ct);
        return manifest;
    }

    public static async Task<DatasetManifest?> ReadManifestAsync(string folder, CancellationToken ct = default)
    {
        var path = Path.Combine(folder, "manifest.json");
        return File.Exists(path) ? JsonSerializer.Deserialize<DatasetManifest>(await File.ReadAllTextAsync(path, ct), Json) : null;
    }
}
