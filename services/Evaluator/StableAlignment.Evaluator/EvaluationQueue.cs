using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using StableAlignment.Learning;
using StableAlignment.Models;
using StableAlignment.Storage;

namespace StableAlignment.Evaluator;

/// <summary>Evaluates checkpoints one after another in the background, as their ready events arrive.</summary>
public sealed class EvaluationQueue(IOptions<EvaluatorOptions> options, IServiceProvider services, IBus bus, ILogger<EvaluationQueue> logger) : BackgroundService
{
    private readonly Channel<EvaluateCheckpoint> _queue = Channel.CreateUnbounded<EvaluateCheckpoint>();

    /// <summary>
    /// Queues an evaluation durably: the request is kept in the report folder until it is done, so a restarted
    /// evaluator takes up what was queued or running. An evaluation that is done already is not repeated.
    /// </summary>
    public void Enqueue(EvaluateCheckpoint request)
    {
        var confined = Confine(request, options.Value);
        if (Status(request.CheckpointId) is { State: JobState.Done })
        {
            logger.LogInformation("Evaluation of {CheckpointId} is done already; the repeat is ignored", request.CheckpointId);
            return;
        }

        Directory.CreateDirectory(Folder(request.CheckpointId));
        AtomicFile.WriteAllText(Path.Combine(Folder(request.CheckpointId), "request.json"), JsonSerializer.Serialize(request, Reports.Json));
        WriteStatus(request.CheckpointId, JobState.Queued, null);
        if (_queue.Writer.TryWrite(confined))
        {
            Telemetry.Queued("evaluation", 1);
        }
    }

    /// <summary>The evaluations a previous run of this service accepted and did not finish.</summary>
    private void Requeue()
    {
        var root = Path.GetFullPath(options.Value.Root);
        foreach (var folder in Directory.Exists(root) ? Directory.GetDirectories(root) : [])
        {
            var request = Path.Combine(folder, "request.json");
            var status = Path.Combine(folder, "status.json");
            try
            {
                if (File.Exists(request) && File.Exists(status)
                    && JsonLines.ReadJson<JobStatus>(status, Reports.Json).State is JobState.Queued or JobState.Running or JobState.Reported)
                {
                    var accepted = JsonLines.ReadJson<EvaluateCheckpoint>(request, Reports.Json);
                    logger.LogInformation("Taking up the evaluation of {CheckpointId} left {Folder}", accepted.CheckpointId, folder);
                    if (_queue.Writer.TryWrite(Confine(accepted, options.Value)))
                    {
                        Telemetry.Queued("evaluation", 1);
                    }
                }
            }
            catch (Exception e) when (e is InvalidDataException or PathEscapeException)
            {
                logger.LogError("Evaluation left in {Folder} cannot be taken up: {Reason}", folder, e.Message);
            }
        }
    }

    /// <summary>queued, running, done or failed (with the reason), from <c>status.json</c> in the checkpoint's report folder; null when unknown.</summary>
    public JobStatus? Status(string checkpointId) => StatusFile(checkpointId).Read();

    private JobStatusFile StatusFile(string checkpointId) => new(Path.Combine(Folder(checkpointId), "status.json"), checkpointId);

    private void WriteStatus(string checkpointId, JobState state, string? reason) => StatusFile(checkpointId).Write(state, reason);

    /// <summary>
    /// The request with its checkpoint location resolved under <see cref="EvaluatorOptions.CheckpointsRoot"/> and its
    /// benchmark files under <see cref="EvaluatorOptions.BenchmarksRoot"/>; a <see cref="PathEscapeException"/> when one leaves its root.
    /// </summary>
    public static EvaluateCheckpoint Confine(EvaluateCheckpoint request, EvaluatorOptions options)
    {
        if (string.IsNullOrWhiteSpace(request.CheckpointId) || request.CheckpointId.Length > ConfinedPath.MaxLength || request.CheckpointId.Any(char.IsControl))
        {
            throw new PathEscapeException("checkpointId", request.CheckpointId, "it is empty, too long or has control characters");
        }

        var benchmarks = new List<string>();
        foreach (var (spec, i) in request.Benchmarks.Select((b, i) => (b, i)))
        {
            var (kind, path) = spec?.IndexOf(':') > 0 ? BenchmarkSpec.Split(spec) : throw new PathEscapeException($"benchmarks[{i}]", spec, "it must read kind:path");
            benchmarks.Add($"{kind}:{ConfinedPath.Resolve(options.BenchmarksRoot, path, $"benchmarks[{i}]")}");
        }

        return request with
        {
            Location = ConfinedPath.Resolve(options.CheckpointsRoot, request.Location, "location"), Benchmarks = benchmarks,
            Wrappers = request.Wrappers is null ? null : ConfinedPath.Resolve(options.BenchmarksRoot, request.Wrappers, "wrappers"),
            Baseline = request.Baseline is null ? null : ConfinedPath.Resolve(options.CheckpointsRoot, request.Baseline, "baseline"),
        };
    }

    public const int MaxRepeats = 100;
    public const int MaxNewTokensLimit = 4096;

    /// <summary>An option of the request out of its range, as "field: reason" (checked by the API before 202 and by the consumer); null when all are usable.</summary>
    public static string? Problem(EvaluateCheckpoint r) =>
        r.Repeats is < 1 or > MaxRepeats ? $"repeats: {r.Repeats} is outside 1–{MaxRepeats}"
        : r.Limit is < 1 ? $"limit: {r.Limit} must be at least 1"
        : r.MaxNewTokens is < 1 or > MaxNewTokensLimit ? $"maxNewTokens: {r.MaxNewTokens} is outside 1–{MaxNewTokensLimit}"
        : null;

    /// <summary>The suite a request runs: its own options where it gives them, the configured ones otherwise.</summary>
    public static EvaluationOptions Suite(EvaluateCheckpoint request, EvaluatorOptions o)
    {
        var adversarial = request.Adversarial ?? o.Adversarial;
        return new EvaluationOptions
        {
            Benchmarks = request.Benchmarks.Count > 0 ? request.Benchmarks : [.. o.Benchmarks.Select(b => Configured(b, o))], Adversarial = adversarial,
            Wrappers = adversarial ? Wrappers.Load(request.Wrappers ?? o.WrappersFile) : [], Repeats = request.Repeats ?? o.Repeats,
            Limit = request.Limit ?? o.Limit, Generation = request.MaxNewTokens is { } tokens ? new GenerationOptions(MaxNewTokens: tokens) : new GenerationOptions(),
        };
    }

    public string Folder(string checkpointId) =>
        Path.Combine(Path.GetFullPath(options.Value.Root), string.Concat(checkpointId.Select(c => char.IsLetterOrDigit(c) || c == '-' ? c : '_')));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Requeue();
        await foreach (var request in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            Telemetry.Queued("evaluation", -1);
            // Competing evaluators on a shared folder: the one holding the claim runs it; the others pass.
            using var claim = JobClaim.TryAcquire(Folder(request.CheckpointId));
            if (claim is null || Status(request.CheckpointId) is { State: JobState.Done })
            {
                logger.LogInformation("Evaluation of {CheckpointId} is running elsewhere or done; passing", request.CheckpointId);
                continue;
            }

            try
            {
                // "reported": the report is written and its EvaluationCompleted is owed (the outbox state); a restart
                // publishes it without evaluating again.
                if (Status(request.CheckpointId) is not { State: JobState.Reported })
                {
                    await EvaluateAsync(request, stoppingToken);
                    WriteStatus(request.CheckpointId, JobState.Reported, null);
                }

                var report = JsonLines.ReadJson<EvaluationReport>(Path.Combine(Folder(request.CheckpointId), "report.json"), Reports.Json);
                await bus.Publish(
                    new EvaluationCompleted
                    {
                        RunId = request.RunId, CheckpointId = request.CheckpointId, ReportLocation = Folder(request.CheckpointId),
                        Scores = report.Scores.ToDictionary(s => s.Key, s => s.Value.Score.Value),
                    },
                    c => c.MessageId = DeterministicGuid.Create($"evaluation-completed/{request.CheckpointId}/{report.CreatedAt:O}"),
                    stoppingToken);
                // Done, with the benchmarks that could not be scored named (the others' scores are in the report).
                WriteStatus(request.CheckpointId, JobState.Done, report.Failures.Count == 0 ? null
                    : "not scored: " + string.Join("; ", report.Failures.Select(f => $"{f.Key}: {f.Value}")));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Evaluation of {CheckpointId} failed", request.CheckpointId);
                WriteStatus(request.CheckpointId, JobState.Failed, $"{e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>A configured default benchmark (kind:path): a relative path is read under <see cref="EvaluatorOptions.BenchmarksRoot"/>.</summary>
    public static string Configured(string spec, EvaluatorOptions options)
    {
        if (spec.IndexOf(':') <= 0)
        {
            return spec; // refused, naming it, when the suite is parsed
        }

        var (kind, path) = BenchmarkSpec.Split(spec);
        return Path.IsPathRooted(path) ? spec : $"{kind}:{Path.Combine(Path.GetFullPath(options.BenchmarksRoot), path)}";
    }

    private async Task EvaluateAsync(EvaluateCheckpoint request, CancellationToken ct)
    {
        WriteStatus(request.CheckpointId, JobState.Running, null);
        var o = options.Value;
        var suite = Suite(request, o);
        if (EvaluationOptions.SelfJudgeOf(suite.Benchmarks, services.GetService<IOptions<ModelsOptions>>()?.Value) is { } self)
        {
            suite = request.AllowSelfJudge ? suite with { SelfJudge = true } : throw new InvalidOperationException($"judge: {self}, or set allowSelfJudge.");
        }

        var (model, state) = Checkpoints.Load(request.Location);
        using var loaded = model; // native memory: released when the evaluation ends
        var tokenizer = Checkpoints.TokenizerFor(request.Location);

        LlamaForCausalLM? baselineModel = null;
        IAnswerer? baseline = null;
        if (request.Baseline is { } b)
        {
            baselineModel = Checkpoints.Load(b).Model;
            baseline = new LocalAnswerer(baselineModel, Checkpoints.TokenizerFor(b), suite.Generation, Path.GetFileName(Path.TrimEndingDirectorySeparator(b)));
        }

        using var loadedBaseline = baselineModel;
        var judges = services.GetService<IModelCatalog>();
        var report = await new EvaluationRunner(suite, judges).RunAsync(
            request.CheckpointId, model, tokenizer, new LocalAnswerer(model, tokenizer, suite.Generation, request.CheckpointId), baseline,
            Folder(request.CheckpointId), state.Step, request.Location, ct: ct);

        foreach (var (benchmark, score) in report.Scores)
        {
            Telemetry.EvaluationScore.Record(score.Score.Value, new KeyValuePair<string, object?>("benchmark", benchmark));
        }

        // TensorBoard: each benchmark's score at the checkpoint's step, one event folder per training job.
        var job = request.CheckpointId.Split('/')[0];
        TrainingBoard.WriteScores(
            Path.Combine(Path.GetFullPath(o.Root), "tensorboard", string.Concat(job.Select(c => char.IsLetterOrDigit(c) || c == '-' ? c : '_'))),
            state.Step, report.Scores.Select(s => KeyValuePair.Create(s.Key, s.Value.Score.Value)));
        Reports.Leaderboard(Path.GetFullPath(o.Root), skipped => logger.LogWarning("Leaderboard: {Reason}", skipped));
    }
}
