using System.Collections.Concurrent;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StableAlignment.Contracts;
using StableAlignment.Models;
using StableAlignment.Storage;

namespace StableAlignment.AgentRunner.Sandbox;

/// <summary>
/// Runs simulations in the background, round after round. Each round starts every agent's interaction at once
/// (model calls queue at the per-endpoint throttle) and ends when every interaction of the round has a record,
/// so that the next round's memory hints see it. Work is resumable: interactions already completed are skipped,
/// failed or missing ones are run again, and runs still marked running are picked up when the service starts.
/// </summary>
public sealed class SimulationRunner(
    IRunRepository runs,
    IInteractionRepository interactions,
    IModelCatalog models,
    BackScatter backScatter,
    IBus bus,
    IClientFactory clients,
    IOptions<SimulationOptions> options,
    ILogger<SimulationRunner> logger) : BackgroundService
{
    private readonly Channel<Guid> _queue = Channel.CreateUnbounded<Guid>();
    private readonly ConcurrentDictionary<Guid, (Task Task, CancellationTokenSource Stop)> _active = new();

    /// <summary>Queues a stored run; false when it is already running here.</summary>
    public bool Enqueue(Guid runId) => !_active.ContainsKey(runId) && _queue.Writer.TryWrite(runId);

    public bool IsActive(Guid runId) => _active.ContainsKey(runId);

    /// <summary>
    /// Resume always acts: a run that is still active here (stuck waiting on a broker or a model) is stopped first,
    /// then started again from what is stored; its completed interactions are kept.
    /// </summary>
    public async Task RestartAsync(Guid runId)
    {
        if (_active.TryGetValue(runId, out var active))
        {
            logger.LogInformation("Run {RunId} is active; stopping it to resume from the store", runId);
            await active.Stop.CancelAsync();
            await active.Task;
        }

        _queue.Writer.TryWrite(runId);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        foreach (var run in await runs.ListAsync(stoppingToken))
        {
            if (run is { Status: RunStatus.Running, Simulation: not null })
            {
                logger.LogInformation("Resuming run {RunId} left running", run.Id);
                Enqueue(run.Id);
            }
        }

        await foreach (var runId in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            if (_active.ContainsKey(runId))
            {
                continue;
            }

            var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var started = new TaskCompletionSource();
            var task = Task.Run(async () =>
            {
                await started.Task;
                try
                {
                    await ExecuteRunAsync(runId, stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // Shutting down or restarted by resume: the run stays resumable (Running until resumed here or at start-up).
                }
                catch (Exception e)
                {
                    // A run never stays Running after its work stopped: it is Failed, with the reason, and resume runs it again.
                    logger.LogError(e, "Run {RunId} failed", runId);
                    await MarkFailedAsync(runId, string.Join(" ", $"{e.GetType().Name}: {e.Message}".Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
                }
                finally
                {
                    _active.TryRemove(runId, out _);
                    stop.Dispose();
                }
            }, CancellationToken.None);
            _active[runId] = (task, stop);
            started.SetResult();
        }
    }

    private async Task ExecuteRunAsync(Guid runId, CancellationToken ct)
    {
        var run = await runs.GetAsync(runId, ct) ?? throw new InvalidOperationException($"No run {runId}.");
        var s = run.Simulation ?? throw new InvalidOperationException($"Run {runId} is not a simulation.");
        await runs.SetStatusAsync(runId, RunStatus.Running, ct);
        var world = new World(s.GridSize, s.InitialSetting, s.Seed);
        var society = models.SocialAgents();
        var assignment = world.AssignModels([.. society.Select(m => m.Share)]);
        ChatModel ModelOf(int agent) => society[assignment[agent]].Model;
        var total = world.AgentCount * s.Rounds;

        await SeedAsync(runId, world, s, ct);
        for (var round = 0; round < s.Rounds; round++)
        {
            var done = (await interactions.ListByRunAsync(runId, ct))
                .Where(r => r.Round == round && r.Status == InteractionStatus.Completed)
                .Select(r => r.AgentId)
                .ToHashSet();
            var pending = Enumerable.Range(0, world.AgentCount).Where(a => !done.Contains(a)).ToList();
            var completedHere = 0;

            // An interaction that fails (a model, the broker or memory-store away for a moment) is tried again after a
            // pause; only its last failure is recorded, so a transient fault leaves no failed record behind.
            for (var attempt = 1; pending.Count > 0; attempt++)
            {
                var last = attempt >= options.Value.InteractionAttempts;
                var outcomes = await Task.WhenAll(pending.Select(agent =>
                {
                    var question = s.Questions[World.QuestionIndex(round, agent, world.AgentCount, s.Questions.Length)];
                    var peers = world.PickPeers(agent, round, s.Peers, s.GlobalInteraction, s.Dropout);
                    var plan = new InteractionPlan(runId, round, agent, world.Label(agent), question, peers, ModelOf(agent), ModelOf);
                    return InteractAsync(plan, recordFailure: last, ct);
                }));
                completedHere += outcomes.Count(ok => ok);
                pending = [.. pending.Where((_, i) => !outcomes[i])];
                if (last || pending.Count == 0)
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromSeconds(options.Value.RetryPauseSeconds * attempt), ct);
            }

            await WaitForRoundAsync(runId, round, world.AgentCount, done.Count + completedHere, ct);
            await PublishProgressAsync(runId, total, ct);
            logger.LogInformation("Run {RunId}: round {Round} of {Rounds} done", runId, round + 1, s.Rounds);
        }

        var completed = (int)await interactions.CountByRunAsync(runId, InteractionStatus.Completed, ct);
        var failed = (int)await interactions.CountByRunAsync(runId, InteractionStatus.Failed, ct);
        await runs.SetStatusAsync(runId, failed == 0 ? RunStatus.Completed : RunStatus.Incomplete, ct);
        await bus.Publish(new RunCompleted { RunId = runId, Completed = completed, Failed = failed }, ct);
    }

    private async Task MarkFailedAsync(Guid runId, string reason)
    {
        try
        {
            await runs.SetStatusAsync(runId, RunStatus.Failed, CancellationToken.None, reason);
            var completed = (int)await interactions.CountByRunAsync(runId, InteractionStatus.Completed, CancellationToken.None);
            var failed = (int)await interactions.CountByRunAsync(runId, InteractionStatus.Failed, CancellationToken.None);
            await bus.Publish(new RunCompleted { RunId = runId, Completed = completed, Failed = failed, Reason = reason }, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The store or the broker is gone too: the run stays Running and is resumed at the next start.
            logger.LogError(e, "Run {RunId}: could not record its failure", runId);
        }
    }

    /// <summary>Runs one interaction and publishes its record; true when it completed. A failure is recorded only when <paramref name="recordFailure"/>.</summary>
    private async Task<bool> InteractAsync(InteractionPlan plan, bool recordFailure, CancellationToken ct)
    {
        try
        {
            await bus.Publish(await backScatter.RunAsync(plan, ct), ct);
            return true;
        }
        catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
        {
            logger.LogWarning("Interaction {InteractionId} (round {Round}, agent {AgentId}) of run {RunId} failed: {Reason}",
                plan.InteractionId, plan.Round, plan.AgentId, plan.RunId, e.Message);
            if (!recordFailure)
            {
                return false;
            }

            await bus.Publish(new InteractionFailed
            {
                RunId = plan.RunId, InteractionId = plan.InteractionId, Round = plan.Round, AgentId = plan.AgentId,
                Question = plan.Question, Reason = $"{e.GetType().Name}: {e.Message}", FailedAt = DateTime.UtcNow,
            }, ct);
            return false;
        }
    }

    /// <summary>The most one <see cref="SeedMemories"/> message carries, in estimated JSON bytes (RabbitMQ's default limit is 128 MB).</summary>
    public const int SeedBatchBytes = 4 << 20;

    /// <summary>Consecutive batches whose estimated JSON size stays within <paramref name="maxBytes"/> (an entry larger than that goes alone).</summary>
    public static IEnumerable<List<SeedMemory>> SeedBatches(IReadOnlyList<SeedMemory> entries, int maxBytes)
    {
        var batch = new List<SeedMemory>();
        long size = 0;
        foreach (var e in entries)
        {
            // A float is at most ~15 characters in JSON; the texts are counted in UTF-8 bytes, escapes generously.
            var bytes = 64 + (16L * e.Embedding.Length) + (2L * (System.Text.Encoding.UTF8.GetByteCount(e.Question) + System.Text.Encoding.UTF8.GetByteCount(e.Answer)));
            if (batch.Count > 0 && size + bytes > maxBytes)
            {
                yield return batch;
                batch = [];
                size = 0;
            }

            batch.Add(e);
            size += bytes;
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    /// <summary>Seed memories from the prior (idempotent: the same entries replace themselves on resume).</summary>
    private async Task SeedAsync(Guid runId, World world, SimulationSettings s, CancellationToken ct)
    {
        if (s.Prior.Length == 0 || s.SeedMemories <= 0)
        {
            return;
        }

        var perAgent = Enumerable.Range(0, world.AgentCount).Select(a => (Agent: a, Entries: world.SeedMemories(a, s.Prior, s.SeedMemories))).ToList();
        var embedder = models.Embedding();
        var vectors = new ConcurrentDictionary<string, float[]>();
        await Task.WhenAll(perAgent.SelectMany(x => x.Entries).Select(e => e.Question).Distinct()
            .Select(async q => vectors[q] = await embedder.EmbedAsync(q, ct)));
        var entries = perAgent.SelectMany(x => x.Entries.Select(e => new SeedMemory
        {
            AgentId = x.Agent, Question = e.Question, Answer = e.Response, Embedding = vectors[e.Question],
        })).ToList();
        // grid² × k entries with their embeddings can reach hundreds of MB (grid 100, 50 memories, 1536 dimensions:
        // about 0.5 GB), far over a broker's message limit: they go in batches of at most SeedBatchBytes each.
        var client = clients.CreateRequestClient<SeedMemories>(RequestTimeout.After(m: 2));
        foreach (var batch in SeedBatches(entries, SeedBatchBytes))
        {
            await client.GetResponse<MemoriesSeeded>(new SeedMemories { RunId = runId, Entries = batch }, ct);
        }
    }

    /// <summary>
    /// Waits until memory-store holds a record for every agent of the round and at least
    /// <paramref name="completed"/> completed ones (a failed record from an earlier pass does not count as done).
    /// </summary>
    private async Task WaitForRoundAsync(Guid runId, int round, int expected, int completed, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (await interactions.CountByRoundAsync(runId, round, cancellationToken: ct) < expected
               || await interactions.CountByRoundAsync(runId, round, InteractionStatus.Completed, ct) < completed)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Round {round} of run {runId}: records did not all reach memory-store within 2 minutes.");
            }

            await Task.Delay(25, ct);
        }
    }

    private async Task PublishProgressAsync(Guid runId, int total, CancellationToken ct) =>
        await bus.Publish(new RunProgressed
        {
            RunId = runId,
            Completed = (int)await interactions.CountByRunAsync(runId, InteractionStatus.Completed, ct),
            Failed = (int)await interactions.CountByRunAsync(runId, InteractionStatus.Failed, ct),
            Total = total,
        }, ct);
}

/// <summary>Bound from the "Simulation" section.</summary>
public sealed class SimulationOptions
{
    public const string Section = "Simulation";

    /// <summary>Attempts per interaction within a round: the first, then retries after a pause (only the last failure is recorded).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 20)]
    public int InteractionAttempts { get; set; } = 3;

    /// <summary>Pause before the n-th retry: n times this many seconds.</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 600)]
    public double RetryPauseSeconds { get; set; } = 2;
}
