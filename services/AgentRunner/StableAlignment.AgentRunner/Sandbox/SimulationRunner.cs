using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using StableAlignment.Models;

namespace StableAlignment.AgentRunner.Sandbox;

/// <summary>
/// Runs simulations in the background, round after round. Each round starts every agent's interaction at once
/// (model calls queue at the per-endpoint throttle) and ends when memory-store has announced a record for every
/// interaction of the round (<see cref="InteractionStored"/>, counted by <see cref="RunTracker"/>), so that the
/// next round's memory hints see it. Work is resumable: interactions already completed (asked of memory-store
/// at the start of each round) are skipped, failed or missing ones are run again, and runs still marked running
/// in agent-runner's own run collection are picked up when the service starts.
/// </summary>
public sealed class SimulationRunner(
    IRunRepository runs,
    MemoryStoreQueries memoryStore,
    RunTracker tracker,
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
        var stored = await runs.ListAsync(stoppingToken);
        _ = Task.Run(() => AnnouncePendingAsync(stored, stoppingToken), CancellationToken.None);
        foreach (var run in stored)
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
        var society = models.SocialAgents(s.SocialAgentModels);
        var assignment = world.AssignModels([.. society.Select(m => m.Share)]);
        ChatModel ModelOf(int agent) => society[assignment[agent]].Model;
        var total = world.AgentCount * s.Rounds;
        var counters = tracker.Track(runId);
        try
        {
            await SeedAsync(runId, world, s, ct);
            for (var round = 0; round < s.Rounds; round++)
            {
                counters.Merge(round, await PersistAsync(() => memoryStore.TallyAsync(runId, round, ct), "ask memory-store for the round's records", ct));
                var done = counters.Snapshot(round).Completed;
                var pending = Enumerable.Range(0, world.AgentCount).Where(a => !done.Contains(a)).ToList();
                var mustComplete = new HashSet<int>(done);

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
                    mustComplete.UnionWith(pending.Where((_, i) => outcomes[i]));
                    pending = [.. pending.Where((_, i) => !outcomes[i])];
                    if (last || pending.Count == 0)
                    {
                        break;
                    }

                    await Task.Delay(TimeSpan.FromSeconds(options.Value.RetryPauseSeconds * attempt), ct);
                }

                await WaitForRoundAsync(runId, round, world.AgentCount, mustComplete, counters, ct);
                var tally = await PersistAsync(() => memoryStore.TallyAsync(runId, null, ct), "ask memory-store for the run's counts", ct);
                await PersistAsync(
                    () => bus.Publish(new RunProgressed { RunId = runId, Completed = tally.Completed, Failed = tally.Failed, Total = total }, ct),
                    "announce the run's progress", ct);
                logger.LogInformation("Run {RunId}: round {Round} of {Rounds} done", runId, round + 1, s.Rounds);
            }

            var final = await PersistAsync(() => memoryStore.TallyAsync(runId, null, ct), "ask memory-store for the run's counts", ct);
            await PersistAsync(() => runs.SetStatusAsync(runId, final.Failed == 0 ? RunStatus.Completed : RunStatus.Incomplete, ct), "record the run's end", ct);
            await AnnounceAsync(runId, final, ct);
        }
        finally
        {
            tracker.Untrack(runId);
        }
    }

    /// <summary>
    /// A step that needs the broker, memory-store or the store, tried again after pauses (1, 2, 4 … 16 s; about two
    /// minutes in all) while they are away for a moment; the last failure ends the run as Failed, resumable.
    /// </summary>
    private async Task<T> PersistAsync<T>(Func<Task<T>> step, string what, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await step();
            }
            catch (Exception e) when (attempt < 8 && !(e is OperationCanceledException && ct.IsCancellationRequested))
            {
                var pause = TimeSpan.FromSeconds(Math.Min(16, 1 << (attempt - 1)));
                logger.LogWarning("Could not {What} ({Reason}); trying again in {Pause} s", what, e.Message, pause.TotalSeconds);
                await Task.Delay(pause, ct);
            }
        }
    }

    /// <summary>
    /// Publishes the run's end, then clears the run's <see cref="RunRecord.AnnouncePending"/>, which was set in the same
    /// write as its final status: a crash in between leaves the flag, and the next start publishes again, with the same
    /// message id (from the run and its counts) so that subscribers can tell a repeat.
    /// </summary>
    private async Task AnnounceAsync(Guid runId, RunTally? tally, CancellationToken ct, string? reason = null)
    {
        var message = new RunCompleted { RunId = runId, Completed = tally?.Completed ?? 0, Failed = tally?.Failed ?? 0, Reason = reason };
        var id = DeterministicGuid.Create($"run-completed/{runId:N}/{message.Completed}/{message.Failed}/{reason}");
        await bus.Publish(message, c => c.MessageId = id, ct);
        await runs.MarkAnnouncedAsync(runId, ct);
    }

    /// <summary>Runs whose end was recorded but perhaps not published before the process stopped are announced now.</summary>
    private async Task AnnouncePendingAsync(IEnumerable<RunRecord> all, CancellationToken ct)
    {
        foreach (var run in all.Where(r => r is { AnnouncePending: true } && r.Status != RunStatus.Running))
        {
            try
            {
                logger.LogInformation("Run {RunId} ended {Status}; announcing it (the last process stopped before it could)", run.Id, run.Status);
                await AnnounceAsync(run.Id, await memoryStore.TallyAsync(run.Id, null, ct), ct, run.Status == RunStatus.Failed ? run.FailureReason : null);
            }
            catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
            {
                logger.LogWarning("Run {RunId}: its end could not be announced yet ({Reason}); the next start tries again", run.Id, e.Message);
            }
        }
    }

    private Task PersistAsync(Func<Task> step, string what, CancellationToken ct) =>
        PersistAsync(async () =>
        {
            await step();
            return true;
        }, what, ct);

    private async Task MarkFailedAsync(Guid runId, string reason)
    {
        try
        {
            await runs.SetStatusAsync(runId, RunStatus.Failed, CancellationToken.None, reason);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await AnnounceAsync(runId, await memoryStore.TryTallyAsync(runId, wait.Token), CancellationToken.None, reason);
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
    private async Task SeedAsync(Guid runId, World world, StoredSimulation s, CancellationToken ct)
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
    /// Waits until memory-store has announced a record for every agent of the round, completed ones for every agent in
    /// <paramref name="mustComplete"/> (a failed record from an earlier pass does not count as done). Events drive the
    /// wait; after <see cref="SimulationOptions.QuietCheckSeconds"/> without one, memory-store is asked for the
    /// round's tally once (an event may have been lost while this process or the broker restarted). Fails after
    /// <see cref="SimulationOptions.RoundTimeoutSeconds"/> without any progress.
    /// </summary>
    private async Task WaitForRoundAsync(Guid runId, int round, int expected, IReadOnlySet<int> mustComplete, RunCounters counters, CancellationToken ct)
    {
        var o = options.Value;
        var lastProgress = DateTime.UtcNow;
        var quiet = TimeSpan.FromSeconds(o.QuietCheckSeconds);
        while (true)
        {
            var changed = counters.Changed;
            var (completed, stored) = counters.Snapshot(round);
            if (stored >= expected && mustComplete.IsSubsetOf(completed))
            {
                return;
            }

            var woken = await Task.WhenAny(changed, Task.Delay(quiet, ct)) == changed;
            ct.ThrowIfCancellationRequested();
            if (woken)
            {
                lastProgress = DateTime.UtcNow;
                continue;
            }

            try
            {
                if (counters.Merge(round, await memoryStore.TallyAsync(runId, round, ct)))
                {
                    lastProgress = DateTime.UtcNow;
                }
            }
            catch (RequestTimeoutException)
            {
                logger.LogWarning("Run {RunId}: memory-store did not answer a tally of round {Round}; still waiting", runId, round);
            }

            if (DateTime.UtcNow - lastProgress > TimeSpan.FromSeconds(o.RoundTimeoutSeconds))
            {
                throw new TimeoutException(
                    $"Round {round} of run {runId}: {stored} of {expected} records stored and no progress for {o.RoundTimeoutSeconds} s (Simulation:RoundTimeoutSeconds).");
            }
        }
    }
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

    /// <summary>A round barrier asks memory-store for the round's tally after this long without a stored-record event.</summary>
    [System.ComponentModel.DataAnnotations.Range(0.1, 600)]
    public double QuietCheckSeconds { get; set; } = 5;

    /// <summary>A round fails (the run is marked Failed, resumable) after this long without a record stored.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 86_400)]
    public double RoundTimeoutSeconds { get; set; } = 300;
}
