using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using StableAlignment.Data;
using StableAlignment.Learning;
using StableAlignment.Storage;

namespace StableAlignment.Trainer;

/// <summary>
/// Runs training jobs one at a time in the background. A job's folder holds its request (job.json); a restarted
/// trainer picks up every job without a "done" marker and resumes it from its last checkpoint.
/// </summary>
public sealed class TrainingRunner(IOptions<TrainerOptions> options, IBus bus, DatasetArrivals arrivals, ILogger<TrainingRunner> logger) : BackgroundService
{
    private readonly Channel<TrainModel> _queue = Channel.CreateUnbounded<TrainModel>();
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new();
    private readonly ConcurrentDictionary<string, byte> _queued = new();

    // A job's failure becomes visible (its "failed" file) in the same step as its queue slot is freed, so a retry sent
    // as soon as the failure shows is queued, never taken for a job still in the queue and dropped.
    private readonly Lock _gate = new();

    /// <summary>What makes a training request unusable, as "field: reason" (checked by the API before 202 and by the consumer).</summary>
    public static string? Problem(TrainModel m)
    {
        // A message or body with a bad id does not deserialize (DatasetId's converter); this catches one made in code without it.
        if (!DatasetId.IsValid(m.DatasetId))
        {
            return DatasetId.Problem(m.DatasetId).TrimEnd('.');
        }

        return TrainOptions.Check(m, "tiny", 0).Problem ?? (m.CheckpointEvery < 1 ? $"checkpointEvery: {m.CheckpointEvery} is below 1 (a training job must write checkpoints)" : null);
    }

    /// <summary>
    /// The base model a request names: a preset (tiny, small) as is, otherwise a folder under <see cref="TrainerOptions.ModelsRoot"/>
    /// (a <see cref="PathEscapeException"/> when the name leaves it, a <see cref="DirectoryNotFoundException"/> when it is absent).
    /// </summary>
    public string ResolveBase(string baseModel)
    {
        if (baseModel.ToLowerInvariant() is "tiny" or "small")
        {
            return baseModel;
        }

        // A checkpoint this trainer wrote (what a closed loop trains from after its first iteration).
        var folder = baseModel.StartsWith(LoopStep.CheckpointPrefix, StringComparison.Ordinal)
            ? ConfinedPath.Resolve(options.Value.Root, baseModel[LoopStep.CheckpointPrefix.Length..], "baseModel")
            : ConfinedPath.Resolve(options.Value.ModelsRoot, baseModel, "baseModel");
        return Directory.Exists(folder)
            ? folder
            : throw new DirectoryNotFoundException($"baseModel: '{baseModel}' is neither tiny, small nor a folder under Trainer:ModelsRoot ({options.Value.ModelsRoot}).");
    }

    /// <summary>
    /// Why the request cannot be trained, as "field: reason" — its settings (<see cref="Problem"/>), then every name
    /// resolved under its root (base model, dataset in both dataset roots) — or null when it can.
    /// </summary>
    public string? Refusal(TrainModel m)
    {
        if (Problem(m) is { } problem)
        {
            return problem;
        }

        try
        {
            ResolveBase(m.BaseModel);
            ConfinedPath.Resolve(options.Value.DatasetsRoot, m.DatasetId, "datasetId");
            ConfinedPath.Resolve(options.Value.ReceivedDatasets, m.DatasetId, "datasetId");
            return null;
        }
        catch (Exception e) when (e is PathEscapeException or DirectoryNotFoundException)
        {
            return e.Message;
        }
    }

    public string Folder(string jobId) => Path.Combine(Root, jobId);

    private JobFolder Job(string jobId) => new(Folder(jobId));

    /// <summary>The folder that holds one folder per job.</summary>
    public string Root => Path.GetFullPath(options.Value.Root);

    /// <summary>
    /// Queues a job unless it is queued, running or done. A job that failed is queued again (a retry: it resumes from
    /// its last checkpoint), so a failure never blocks an identical request.
    /// </summary>
    public bool Enqueue(TrainModel m)
    {
        var id = JobId.Of(m);
        lock (_gate)
        {
            if (Job(id).IsDone || !_queued.TryAdd(id, 0))
            {
                return false;
            }

            Job(id).Accept(JsonSerializer.Serialize(m));
        }

        return _queue.Writer.TryWrite(m);
    }

    public bool Cancel(string jobId)
    {
        if (!_running.TryGetValue(jobId, out var cts))
        {
            return false;
        }

        cts.Cancel();
        return true;
    }

    // Longer than most on purpose: a job's whole life (claim, run, mark done or failed, free its slot) in one try/finally,
    // so that every path out of a job releases its claim and queue slot in one visible place.
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var root = Path.GetFullPath(options.Value.Root);
        foreach (var job in Directory.Exists(root) ? Directory.GetDirectories(root, "job-*").Select(f => new JobFolder(f)) : [])
        {
            if (job.IsDone || job.HasFailed || !job.HasRequest)
            {
                continue;
            }

            // One unreadable job never stops the trainer (a crash loop under a restart policy): it is marked failed.
            try
            {
                var request = JsonLines.ReadJson<TrainModel>(job.RequestFile);
                logger.LogInformation("Resuming training job {JobId}", JobId.Of(request));
                Enqueue(request);
            }
            catch (InvalidDataException e)
            {
                logger.LogError("Training job in {Folder} cannot be resumed: {Reason}", job.Path, e.Message);
                job.MarkFailed(e.Message);
            }
        }

        await foreach (var m in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            var id = JobId.Of(m);
            // Competing trainers on a shared folder: the one holding the job's claim trains it; the others pass.
            using var claim = JobClaim.TryAcquire(Folder(id));
            if (claim is null || Job(id).IsDone)
            {
                logger.LogInformation("Training job {JobId} is running elsewhere or done; passing", id);
                _queued.TryRemove(id, out _);
                continue;
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            _running[id] = cts;
            var released = false; // the failure path frees the queue slot itself; a retry may hold it by the end
            try
            {
                await TrainAsync(id, m, cts.Token);
                Job(id).MarkDone();
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogInformation("Training job {JobId} cancelled; its last checkpoint stays", id);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Training job {JobId} failed", id);
                lock (_gate)
                {
                    Job(id).MarkFailed($"{e.GetType().Name}: {e.Message}");
                    _queued.TryRemove(id, out _);
                    released = true;
                }

                await bus.Publish(new TrainingFailed { RunId = m.RunId, JobId = id, Reason = $"{e.GetType().Name}: {e.Message}" }, CancellationToken.None);
            }
            finally
            {
                _running.TryRemove(id, out _);
                if (!released)
                {
                    _queued.TryRemove(id, out _);
                }
            }
        }
    }

    private async Task TrainAsync(string id, TrainModel m, CancellationToken ct)
    {
        var data = TrainingData.Load(await FindDataAsync(m.DatasetId, ct));
        // A job read back from its folder is checked again: a request that cannot train fails, visibly, here.
        var (checkedOptions, problem) = TrainOptions.Check(m, ResolveBase(m.BaseModel), options.Value.Threads);
        var trainOptions = checkedOptions ?? throw new InvalidDataException($"TrainModel: {problem}");
        var progress = new Progress<StepMetrics>(s =>
        {
            Telemetry.TrainingLoss.Record(s.Loss, new KeyValuePair<string, object?>("job", id));
            Telemetry.TrainingTokensPerSecond.Record(s.TokensPerSecond, new KeyValuePair<string, object?>("job", id));
            if (s.Step % options.Value.ProgressEvery == 0 || s.Step == s.TotalSteps)
            {
                _ = bus.Publish(new TrainingProgressed
                {
                    RunId = m.RunId, JobId = id, Step = s.Step, TotalSteps = s.TotalSteps, Loss = s.Loss, LearningRate = s.LearningRate, TokensPerSecond = s.TokensPerSecond,
                }, CancellationToken.None);
            }
        });
        await AnnouncePendingAsync(id, m, ct);
        foreach (var warning in trainOptions.Warnings())
        {
            logger.LogWarning("Training job {JobId}: {Warning}", id, warning);
        }

        var result = await new ModelTrainer(trainOptions, Checkpoints.TokenizerFor(trainOptions.Base)).RunAsync(
            data, Folder(id), m.DatasetId, progress, (folder, state) => AnnounceAsync(id, m, folder, state, ct), ct);
        await AnnouncePendingAsync(id, m, ct);
        MetricsPlot.Write(result.Metrics, Path.Combine(Folder(id), "metrics.png"), $"{WireEnum<LossKind>.Name(m.Loss)} on {m.DatasetId}");
    }

    private const string AnnouncedMarker = "announced";

    /// <summary>
    /// Publishes a checkpoint's <see cref="CheckpointReady"/>, then marks the checkpoint announced. The checkpoint folder
    /// is the outbox entry: one without the marker (the process died between the rename and the publish) is announced
    /// when its job resumes, with the same message id, so subscribers can tell a repeat.
    /// </summary>
    private async Task AnnounceAsync(string id, TrainModel m, string folder, CheckpointState state, CancellationToken ct)
    {
        var checkpointId = $"{id}/{Path.GetFileName(folder)}";
        await bus.Publish(
            new CheckpointReady
            {
                RunId = m.RunId, CheckpointId = checkpointId, Location = Path.GetRelativePath(Path.GetFullPath(options.Value.Root), folder), BaseModel = m.BaseModel,
                DatasetId = m.DatasetId, Step = state.Step, Metrics = state.Metrics, Final = state.Step >= state.TotalSteps, Loop = m.Loop,
            },
            c => c.MessageId = DeterministicGuid.Create($"checkpoint-ready/{checkpointId}"),
            ct);
        AtomicFile.WriteAllText(Path.Combine(folder, AnnouncedMarker), DateTime.UtcNow.ToString("O"));
    }

    /// <summary>Announces a finished job's final checkpoint again (same message id); false when the job is not done.</summary>
    public async Task<bool> AnnounceFinalAgainAsync(TrainModel m, CancellationToken ct)
    {
        var id = JobId.Of(m);
        if (!Job(id).IsDone || Checkpoints.Latest(Folder(id)) is not { } final)
        {
            return false;
        }

        await AnnounceAsync(id, m, final, Checkpoints.ReadState(final), ct);
        return true;
    }

    private async Task AnnouncePendingAsync(string id, TrainModel m, CancellationToken ct)
    {
        var root = Checkpoints.Folder(Folder(id));
        foreach (var folder in Directory.Exists(root) ? [.. Directory.GetDirectories(root, "step-*").Order(StringComparer.Ordinal)] : Array.Empty<string>())
        {
            if (!File.Exists(Path.Combine(folder, AnnouncedMarker)) && File.Exists(Path.Combine(folder, "state.json")))
            {
                logger.LogInformation("Checkpoint {Folder} of job {JobId} was saved but not announced; announcing it", folder, id);
                await AnnounceAsync(id, m, folder, Checkpoints.ReadState(folder), ct);
            }
        }
    }

    private async Task<string> FindDataAsync(DatasetId datasetId, CancellationToken ct)
    {
        var candidates = new[] { options.Value.DatasetsRoot, options.Value.ReceivedDatasets }
            .Select(r => Path.Combine(ConfinedPath.Resolve(r, datasetId, "datasetId"), DatasetFiles.Training))
            .ToList();
        return await arrivals.WaitAsync(datasetId, () => candidates.FirstOrDefault(File.Exists), TimeSpan.FromSeconds(options.Value.DataWaitSeconds), ct)
            ?? throw new FileNotFoundException($"Dataset {datasetId} was neither found in {options.Value.DatasetsRoot} nor received as triplet batches within {options.Value.DataWaitSeconds} s.");
    }
}
