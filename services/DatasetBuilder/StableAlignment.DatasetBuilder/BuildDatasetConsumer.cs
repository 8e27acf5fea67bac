using StableAlignment.Data;

namespace StableAlignment.DatasetBuilder;

/// <summary>
/// Builds a run's dataset, stores it with its statistics and provenance, publishes its training groups as
/// triplet batches (unless the trainers share the folder: <see cref="DatasetOptions.Delivery"/>) and then
/// <see cref="DatasetBuilt"/>, which names the folder. The dataset id follows from the run and the parameters,
/// so a rebuild with the same parameters finds the published dataset and only announces it again (no batches).
/// </summary>
public sealed class BuildDatasetConsumer(
    IRequestClient<ListInteractions> memoryStore,
    IOptions<DatasetOptions> options,
    ShutdownGrace shutdown,
    ILogger<BuildDatasetConsumer> logger) : IConsumer<BuildDataset>
{
    private const string PublishedMarker = "published";

    public async Task Consume(ConsumeContext<BuildDataset> context)
    {
        var m = context.Message;
        // A build that starts during a stop ends with it: its requests to memory-store would otherwise wait out their
        // timeout (and the retries) against a memory-store that stopped with it in the same process, for minutes.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, shutdown.Token);
        var ct = stopping.Token;
        if (Problem(m) is { } problem)
        {
            throw new InvalidMessageException($"BuildDataset: {problem}");
        }

        foreach (var runId in Runs(m))
        {
            if (await CompletedCountAsync(memoryStore, runId, ct) == 0)
            {
                throw new InvalidMessageException($"BuildDataset: memory-store holds no completed interaction of run {runId}.");
            }
        }

        var build = Options(m);
        var id = IdFor(m);
        var folder = Path.Combine(Path.GetFullPath(options.Value.Root), id);
        if (File.Exists(Path.Combine(folder, PublishedMarker)) && await DatasetBuild.ReadManifestAsync(folder, ct) is { } built)
        {
            // A repeated request gets the outcome again, not the work: DatasetBuilt once more, no batches.
            logger.LogInformation("Dataset {DatasetId} of run {RunId} is built and published already; announcing it again", id, m.RunId);
            await AnnounceAsync(context, m.RunId, id, built.Stats, options.Value.Delivery == DatasetDelivery.Shared ? 0 : TripletBatchReader.BatchCount(built.Stats.GroupsTrain, m.BatchSize), ct);
            return;
        }

        var status = DatasetStatus.File(options.Value.Root, id);
        status.Write(JobState.Building, null);
        try
        {
            await BuildAndPublishAsync(context, m, id, folder, build, ct);
            status.Write(JobState.Done, null);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            status.Write(JobState.Failed, "stopped: the service shut down before the build finished (over RabbitMQ the request is delivered again; otherwise request it again)");
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            status.Write(JobState.Failed, $"{e.GetType().Name}: {e.Message}");
            throw;
        }
    }

    /// <summary>What makes a build request unusable, as "field: reason" (checked by the API before 202 and by the consumer).</summary>
    public static string? Problem(BuildDataset m)
    {
        if (m.RunId == Guid.Empty)
        {
            return "runId: missing";
        }

        if (m.BatchSize is < 1 or > MaxBatchSize)
        {
            return $"batchSize: {m.BatchSize} is outside 1–{MaxBatchSize}";
        }

        if (!double.IsFinite(m.Holdout) || m.Holdout is < 0 or >= 1)
        {
            return $"holdout: {m.Holdout} is outside [0, 1) (a share of the questions, e.g. 0.1)";
        }

        if (m.PoolRuns is null || m.PoolRuns.Count > MaxPooledRuns || m.PoolRuns.Any(r => r == Guid.Empty))
        {
            return $"poolRuns: at most {MaxPooledRuns} run ids, none empty";
        }

        try
        {
            _ = Formats(m);
        }
        catch (FormatException e)
        {
            return $"formats: {e.Message}";
        }

        try
        {
            _ = m.Ratios is null ? null : BuildOptions.ParseRatios(m.Ratios);
            return null;
        }
        catch (FormatException e)
        {
            return $"ratios: {e.Message}";
        }
    }

    public const int MaxPooledRuns = 100;

    /// <summary>The runs a request pools, the first one first, each once.</summary>
    public static IReadOnlyList<Guid> Runs(BuildDataset m) => [.. new[] { m.RunId }.Concat(m.PoolRuns ?? []).Distinct()];

    /// <summary>The files a request writes: the authors form always (training reads it), then those asked for.</summary>
    public static IReadOnlyList<DatasetFormat> Formats(BuildDataset m) =>
        [.. new[] { DatasetFormat.Authors }.Concat(m.Formats is null ? [DatasetFormat.Alpaca, DatasetFormat.Trl] : m.Formats.Select(DatasetFormats.Parse)).Distinct()];

    private static string Source(BuildDataset m) => string.Join("+", Runs(m).Select(r => $"run:{r}"));

    public const int MaxBatchSize = 10_000;

    /// <summary>How many completed interactions memory-store holds for the run.</summary>
    public static async Task<int> CompletedCountAsync(IRequestClient<ListInteractions> memoryStore, Guid runId, CancellationToken ct) =>
        (await memoryStore.GetResponse<InteractionsListed>(new ListInteractions { RunId = runId, Take = 1 }, ct)).Message.Total;

    /// <summary>The dataset id a valid request builds: it follows from the run and the parameters.</summary>
    public static DatasetId IdFor(BuildDataset m) => DatasetBuild.IdFor(Source(m), Options(m));

    private static BuildOptions Options(BuildDataset m) => new(m.Ratios is null ? null : BuildOptions.ParseRatios(m.Ratios), m.Seed, m.Holdout);

    private async Task BuildAndPublishAsync(ConsumeContext context, BuildDataset m, DatasetId id, string folder, BuildOptions build, CancellationToken ct)
    {
        // Several runs pool into one dataset, in the order given, as the command line's repeated --run does.
        var runs = Runs(m);
        var records = RecordSources.Concat(runs.Select(r => RecordSources.FromMemoryStoreAsync(memoryStore, r, ct)));
        var manifest = await DatasetBuild.RunAsync(records, build, Formats(m), folder, Source(m), runs, ct);
        // Shared: the claim check alone, the trainers read the folder DatasetBuilt names; no batch carries the data a second time.
        var shared = options.Value.Delivery == DatasetDelivery.Shared;
        var count = shared ? 0 : TripletBatchReader.BatchCount(manifest.Stats.GroupsTrain, m.BatchSize);
        var index = 0;
        var batch = new List<TripletGroup>(m.BatchSize);
        var train = Path.Combine(folder, DatasetWriter.FileName(DatasetFormat.Authors, heldout: false));
        if (!shared && File.Exists(train))
        {
            await foreach (var group in TripletBatchReader.ReadAsync(train, ct))
            {
                batch.Add(group);
                if (batch.Count == m.BatchSize)
                {
                    await Publish(context, m.RunId, id, index++, count, batch);
                    batch = new List<TripletGroup>(m.BatchSize);
                }
            }
        }

        if (batch.Count > 0)
        {
            await Publish(context, m.RunId, id, index, count, batch);
        }

        await AnnounceAsync(context, m.RunId, id, manifest.Stats, count, ct);
        await File.WriteAllTextAsync(Path.Combine(folder, PublishedMarker), DateTime.UtcNow.ToString("O"), ct);
        logger.LogInformation("Dataset {DatasetId} of run {RunId}: {Groups} training groups in {Batches} batches", id, m.RunId, manifest.Stats.GroupsTrain, count);
    }

    private static Task AnnounceAsync(ConsumeContext context, Guid runId, DatasetId id, DatasetStats s, int batches, CancellationToken ct) =>
        context.Publish(new DatasetBuilt
        {
            RunId = runId, DatasetId = id, Imitation = (int)s.Kept(SampleType.Imitation), SelfCritic = (int)s.Kept(SampleType.SelfCritic),
            Realignment = (int)s.Kept(SampleType.Realignment), Groups = (int)(s.GroupsTrain + s.GroupsHeldout), Location = id, Batches = batches,
        }, ct);

    private static Task Publish(ConsumeContext context, Guid runId, DatasetId datasetId, int index, int count, List<TripletGroup> groups) =>
        context.Publish(new TripletBatchReady { RunId = runId, DatasetId = datasetId, BatchIndex = index, BatchCount = count, Groups = groups }, context.CancellationToken);
}

public sealed class BuildDatasetConsumerDefinition : RetryingConsumerDefinition<BuildDatasetConsumer>
{
    public BuildDatasetConsumerDefinition() => ConcurrentMessageLimit = 1;
}
