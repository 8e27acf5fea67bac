using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace StableAlignment.DatasetBuilder;

/// <summary>One prompt with its rated responses: the unit of the Stable Alignment loss.</summary>
public sealed record SampleGroup(string Query, bool Heldout, IReadOnlyList<Sample> Samples)
{
    public IReadOnlyList<string> Responses => [.. Samples.Select(s => s.Output)];

    public IReadOnlyList<int> Scores => [.. Samples.Select(s => s.Rating)];

    public IReadOnlyList<string> Models => [.. Samples.Select(s => s.Model)];
}

/// <summary>
/// Records → samples → de-duplication → groups by prompt → sampling of whole groups by type, without holding the
/// records or the samples in memory: samples are spilled to bucket files by a hash of their prompt, and each bucket is
/// grouped on its own. As in the original, a response text appears once per sample type across all prompts: of equal
/// responses of one type the one with the smallest seeded key stays (so the choice does not depend on record order);
/// only an 8-byte hash per distinct response is held for that. Sampling then keeps, per type, whole query groups in
/// the order of a seeded key per group until the type's share of the imitation count is reached (to within one
/// group), as the original samples whole groups after de-duplication: a self-critic group (one draft's critiques) is
/// never split. The held-out split goes by question, so one prompt's responses never straddle it.
/// </summary>
public sealed class DatasetEngine(BuildOptions options, string workFolder, int buckets = 64)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public DatasetStats Stats { get; } = new();

    private readonly Dictionary<(SampleType Type, ulong Output), double> _firstKey = [];

    private sealed record Spilled(SampleType Type, string Instruction, string Input, string Output, int Rating, string Model, double Key, bool Heldout);

    // Longer than most on purpose: one streaming pass (read, make samples, spill, sample, group) whose state is the
    // iterator's own locals; split into methods it would need that state passed around or made fields.
    public async IAsyncEnumerable<SampleGroup> BuildAsync(IAsyncEnumerable<AlignmentRecord> records, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        Directory.CreateDirectory(workFolder);
        var paths = Enumerable.Range(0, buckets).Select(i => Path.Combine(workFolder, $"bucket-{i:D3}.jsonl")).ToArray();
        var writers = paths.Select(p => new StreamWriter(p, append: false, Encoding.UTF8, 1 << 16)).ToArray();
        try
        {
            await foreach (var record in records.WithCancellation(ct))
            {
                Stats.Records++;
                var heldout = options.Holdout > 0 && Unit($"{options.Seed}/holdout/{record.Question.Trim()}") < options.Holdout;
                foreach (var s in SampleBuilder.From(record, Dropped))
                {
                    Stats.Candidates[Sample.TypeName(s.Type)]++;
                    var key = Unit($"{options.Seed}/sample/{s.Type}/{s.Query}/{s.Output}");
                    var id = (s.Type, Hash(s.Output));
                    _firstKey[id] = _firstKey.TryGetValue(id, out var first) ? Math.Min(first, key) : key;
                    var line = JsonSerializer.Serialize(new Spilled(s.Type, s.Instruction, s.Input, s.Output, s.Rating, s.Model, key, heldout), Json);
                    await writers[Bucket(s.Query)].WriteLineAsync(line.AsMemory(), ct);
                }
            }
        }
        finally
        {
            foreach (var w in writers)
            {
                await w.DisposeAsync();
            }
        }

        try
        {
            // First every bucket's de-duplicated groups by type (key and size only), to choose whole groups by ratio;
            // then the buckets grouped again (the same deterministic result) and the chosen groups handed out.
            var sizes = Enum.GetValues<SampleType>().ToDictionary(t => t, _ => new List<(double Key, int Count)>());
            foreach (var path in paths)
            {
                foreach (var (type, key, group) in await GroupBucketAsync(path, count: false, ct))
                {
                    sizes[type].Add((key, group.Samples.Count));
                }
            }

            var thresholds = Thresholds(sizes);
            foreach (var path in paths)
            {
                foreach (var (type, key, group) in await GroupBucketAsync(path, count: true, ct))
                {
                    if (key > thresholds[type])
                    {
                        continue;
                    }

                    (group.Heldout ? Stats.KeptHeldout : Stats.KeptTrain)[Sample.TypeName(type)] += group.Samples.Count;
                    if (group.Heldout)
                    {
                        Stats.GroupsHeldout++;
                    }
                    else
                    {
                        Stats.GroupsTrain++;
                    }

                    yield return group;
                }

                File.Delete(path);
            }
        }
        finally
        {
            foreach (var path in paths.Where(File.Exists))
            {
                File.Delete(path);
            }
        }
    }

    private void Dropped(SampleType type, DropReason reason)
    {
        switch (reason)
        {
            case DropReason.InvalidRating:
                Stats.DroppedInvalidRating[Sample.TypeName(type)]++;
                break;
            case DropReason.EmptyText:
                Stats.DroppedEmptyText[Sample.TypeName(type)]++;
                break;
            default:
                Stats.DroppedRealignmentCondition++;
                break;
        }
    }

    /// <summary>
    /// Per type, the largest group key kept. Imitation keeps every group; self-critic and realignment keep whole groups
    /// in key order while each one brings the type's sample count closer to its share of the imitation count
    /// (imitation × share / imitation's share), so the count lands within one group of the target, capped by what exists.
    /// </summary>
    private Dictionary<SampleType, double> Thresholds(Dictionary<SampleType, List<(double Key, int Count)>> sizes)
    {
        var result = Enum.GetValues<SampleType>().ToDictionary(t => t, _ => double.MaxValue);
        if (options.Ratios is not { } r)
        {
            return result;
        }

        var imitation = sizes[SampleType.Imitation].Sum(g => g.Count);
        foreach (var (type, share) in new[] { (SampleType.SelfCritic, r[1]), (SampleType.Realignment, r[2]) })
        {
            var target = Math.Floor(imitation * share / r[0]);
            var groups = sizes[type].OrderBy(g => g.Key).ToList();
            var (kept, threshold) = (0L, double.MinValue);
            foreach (var (key, count) in groups)
            {
                if (Math.Abs(kept + count - target) >= Math.Abs(kept - target))
                {
                    break;
                }

                (kept, threshold) = (kept + count, key);
            }

            result[type] = threshold;
            Stats.SampledOut[Sample.TypeName(type)] = groups.Sum(g => g.Count) - kept;
        }

        return result;
    }

    /// <summary>
    /// A bucket's groups after de-duplication, each with its type (of its first sample: a prompt's template belongs
    /// to one sample type) and its seeded sampling key. <paramref name="count"/>: record the duplicates dropped.
    /// </summary>
    private async Task<List<(SampleType Type, double Key, SampleGroup Group)>> GroupBucketAsync(string path, bool count, CancellationToken ct)
    {
        var groups = new Dictionary<string, (bool Heldout, List<Sample> Samples, HashSet<string> Seen)>(StringComparer.Ordinal);
        await foreach (var line in File.ReadLinesAsync(path, ct))
        {
            var s = JsonSerializer.Deserialize<Spilled>(line, Json)!;
            var sample = new Sample(s.Type, s.Instruction, s.Input, s.Output, s.Rating, s.Model);
            var query = sample.Query;
            if (!groups.TryGetValue(query, out var g))
            {
                g = (s.Heldout, [], new HashSet<string>(StringComparer.Ordinal));
                groups[query] = g;
            }

            if (!g.Seen.Add(sample.Output) || s.Key > _firstKey[(s.Type, Hash(s.Output))])
            {
                if (count)
                {
                    Stats.DroppedDuplicates[Sample.TypeName(s.Type)]++;
                }

                continue;
            }

            g.Samples.Add(sample);
        }

        return [.. groups.Where(kv => kv.Value.Samples.Count > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (kv.Value.Samples[0].Type, Unit($"{options.Seed}/group/{kv.Key}"), new SampleGroup(kv.Key, kv.Value.Heldout, kv.Value.Samples)))];
    }

    private int Bucket(string query) => (int)(Hash(query) % (ulong)buckets);

    private static double Unit(string text) => (Hash(text) >> 11) / (double)(1UL << 53);

    private static ulong Hash(string text)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return BitConverter.ToUInt64(digest);
    }
}
