using System.Globalization;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.Data;
using StableAlignment.Evaluator;
using StableAlignment.Primitives;
using StableAlignment.Storage;

namespace StableAlignment.Society;

public sealed partial class SocietyLoop
{
    /// <summary>
    /// Follows one loop's events and keeps its state: one event at a time, on the caller's task, so the state has one
    /// writer. <see cref="ContinueAsync"/> starts the pipeline, or after a restart announces the last event the state
    /// records again (the in-memory bus loses what was in flight when the process stopped).
    /// </summary>
    private sealed class LoopPipeline(SocietyLoop loop, LoopState state, IReadOnlyList<SocietyQuestion> questions, IServiceProvider services, IProgress<string> progress)
    {
        private readonly IBus _bus = services.GetRequiredService<IBus>();
        private readonly Dictionary<Guid, HashSet<Guid>> _stored = [];
        private LoopRecipe Options => loop.Recipe;

        private LoopIteration? ByRun(Guid runId) => state.Iterations.FirstOrDefault(i => i.RunId == runId);

        private LoopIteration? ByStep(LoopStep? step) => step is { } s && s.LoopId == state.LoopId ? state.Iterations.FirstOrDefault(i => i.Iteration == s.Iteration) : null;

        public async Task ContinueAsync(CancellationToken ct)
        {
            foreach (var scored in state.Iterations.Where(i => i.Final is not null && i.Scores is null).ToList())
            {
                Score(scored);
            }

            var last = state.Iterations.OrderBy(i => i.Iteration).LastOrDefault();
            if (last is null)
            {
                await StartAsync(ct);
            }
            else if (last.Final is { } final)
            {
                await OnCheckpointAsync(last, final, restarted: true, ct);
            }
            else if (last.Training is { } training)
            {
                await _bus.Publish(training with { Loop = training.Loop! with { Iterations = Options.Iterations } }, ct);
            }
            else if (last.Dataset is { } dataset)
            {
                await _bus.Publish(dataset, ct);
            }
            else if (last.Simulated)
            {
                await _bus.Publish(new BuildDataset { RunId = last.RunId!.Value }, ct);
            }
            else
            {
                await ContinueRunAsync(last, ct);
            }
        }

        /// <summary>Iteration 1: the base model plays the whole society (less the external model's share).</summary>
        private async Task StartAsync(CancellationToken ct)
        {
            var it = new LoopIteration { Iteration = 1, Checkpoint = loop.Start, RunId = RunIdOf(state, 1) };
            state.Iterations.Add(it);
            loop.Save(state);
            var step = new LoopStep
            {
                LoopId = state.LoopId, Iteration = 1, Iterations = Options.Iterations, Checkpoint = Path.GetFileName(loop.Start), PreviousShare = Options.PreviousShare,
                Guests = Options.ExternalShare > 0 ? [new SocialAgentChoice { Model = Options.ExternalModel!, Share = Options.ExternalShare }] : [],
                TrainEpochs = Options.TrainEpochs, Seed = Options.Seed,
            };
            var train = questions.Where(q => !q.Heldout).OrderBy(q => World.StableHash($"{Options.Seed}/1/{q.Id}")).ToList();
            Simulating(it, resume: false);
            await _bus.Publish(new StartSimulation
            {
                RunId = it.RunId!.Value, GridSize = Options.GridSize, Rounds = Options.Rounds, InitialSetting = InitialSetting.MixedHalfHalf, Seed = Options.Seed * 100 + 1,
                SeedMemories = 2, Questions = [.. train.Select(q => q.Question)], Prior = PriorFile.Load(Path.Combine(SocietyData.Folder, "prior.jsonl")),
                SocialAgentModels = step.Society(), Loop = step,
            }, ct);
        }

        /// <summary>An iteration whose run did not end: resumed when agent-runner holds it, otherwise started again (by whoever started it).</summary>
        private async Task ContinueRunAsync(LoopIteration it, CancellationToken ct)
        {
            var run = await services.GetRequiredService<IRunRepository>().GetAsync(it.RunId!.Value, ct);
            if (run is { Status: RunStatus.Completed })
            {
                await OnRunCompletedAsync(it, null, ct);
                await _bus.Publish(new BuildDataset { RunId = it.RunId!.Value }, ct);
            }
            else if (run is not null)
            {
                Simulating(it, resume: true);
                await _bus.Publish(new ResumeSimulation { RunId = it.RunId!.Value }, ct);
            }
            else if (it.Iteration == 1)
            {
                state.Iterations.Remove(it);
                await StartAsync(ct);
            }
            else
            {
                var before = state.Iterations.Single(i => i.Iteration == it.Iteration - 1);
                await AnnounceAgainAsync(before.Final ?? throw new InvalidOperationException(
                    $"{loop.StatePath}: iteration {before.Iteration} has no recorded final checkpoint (a state written before the loop ran on the services' pipeline); use another --out."), ct);
            }
        }

        public async Task OnAsync(object message, CancellationToken ct)
        {
            switch (message)
            {
                case InteractionStored m when ByRun(m.RunId) is { Simulated: false } it:
                    var ids = _stored.TryGetValue(m.RunId, out var known) ? known : _stored[m.RunId] = [];
                    ids.Add(m.InteractionId);
                    progress.Report($"iteration {it.Iteration}: simulating ({ids.Count}/{Options.GridSize * Options.GridSize * Options.Rounds} interactions) with {loop.Short(it.Checkpoint)} served over the OpenAI API");
                    break;
                case RunCompleted m when ByRun(m.RunId) is { Simulated: false } it:
                    await OnRunCompletedAsync(it, m.Reason, ct);
                    break;
                case DatasetBuilt m when ByRun(m.RunId) is { } it && it.Dataset is null:
                    it.Dataset = m;
                    it.DatasetId = m.DatasetId;
                    it.Samples = m.Imitation + m.SelfCritic + m.Realignment;
                    loop.Save(state);
                    break;
                case TrainModel m when ByStep(m.Loop) is { } it && it.Training is null:
                    it.Training = m;
                    loop.Save(state);
                    progress.Report($"iteration {it.Iteration}: training Stable Alignment from {loop.Short(it.Checkpoint)} on {m.DatasetId}");
                    break;
                case TrainingProgressed m when state.Iterations.FirstOrDefault(i => i.RunId == m.RunId && i.Final is null) is { } it:
                    progress.Report(string.Create(CultureInfo.InvariantCulture, $"iteration {it.Iteration}: training step {m.Step}/{m.TotalSteps}, loss {m.Loss:F3}"));
                    break;
                case CheckpointReady { Final: true } m when ByStep(m.Loop) is { } it && it.Final is null:
                    it.Final = m;
                    it.TrainedCheckpoint = Path.Combine(loop.Jobs, m.Location);
                    loop.Save(state);
                    await OnCheckpointAsync(it, m, restarted: false, ct);
                    break;
                case TrainingFailed m when ByRun(m.RunId) is { } it:
                    throw new InvalidOperationException($"iteration {it.Iteration}: training job {m.JobId} failed ({m.Reason}); run the same command again to retry it.");
                case Fault<StartSimulation> f when ByRun(f.Message.RunId) is { } it:
                    throw Failed(it, "the simulation could not start", f);
                case Fault<ResumeSimulation> f when ByRun(f.Message.RunId) is { } it:
                    throw Failed(it, "the simulation could not resume", f);
                case Fault<BuildDataset> f when ByRun(f.Message.RunId) is { } it:
                    throw Failed(it, "its alignment data could not be built", f);
                case Fault<TrainModel> f when ByRun(f.Message.RunId) is { } it:
                    throw Failed(it, "its training was refused", f);
            }
        }

        private static InvalidOperationException Failed(LoopIteration it, string what, Fault fault) =>
            new($"iteration {it.Iteration}: {what}: {string.Join("; ", fault.Exceptions.Select(e => e.Message))}");

        private void Simulating(LoopIteration it, bool resume) =>
            progress.Report($"iteration {it.Iteration}: {(resume ? "resuming" : "simulating")} a {Options.GridSize}×{Options.GridSize} society for {Options.Rounds} rounds, played by {loop.Short(it.Checkpoint)}");

        /// <summary>A run ended: stopped runs stop the loop (the same command resumes them); completed ones are exported and measured.</summary>
        private async Task OnRunCompletedAsync(LoopIteration it, string? reason, CancellationToken ct)
        {
            if (reason is not null)
            {
                throw new InvalidOperationException($"iteration {it.Iteration}: run {it.RunId} stopped ({reason}); run the same command again to resume it.");
            }

            var runId = it.RunId!.Value;
            var records = await services.GetRequiredService<IInteractionRepository>().ListByRunAsync(runId, ct);
            var run = (await services.GetRequiredService<IRunRepository>().GetAsync(runId, ct))!;
            await SimulationExport.WriteAsync(run, records, Path.Combine(loop.OutDir, $"iteration-{it.Iteration}", "export"), null, ct);
            Measure(it, records);
            it.Simulated = true;
            loop.Save(state);
            progress.Report($"iteration {it.Iteration}: building the alignment data from run {runId}");
        }

        /// <summary>
        /// An iteration's final checkpoint: the next iteration (started by the coordinator) is recorded, and this
        /// checkpoint is scored. It is announced again when the coordinator has not acted on it: after a restart that
        /// finds the next run missing, or when it carries fewer iterations than asked for now (a finished loop run again
        /// with more).
        /// </summary>
        private async Task OnCheckpointAsync(LoopIteration it, CheckpointReady m, bool restarted, CancellationToken ct)
        {
            if (it.Iteration < Options.Iterations)
            {
                var next = state.Iterations.FirstOrDefault(i => i.Iteration == it.Iteration + 1);
                if (next is null)
                {
                    next = new LoopIteration { Iteration = it.Iteration + 1, Checkpoint = it.TrainedCheckpoint!, PreviousCheckpoint = it.Checkpoint, RunId = RunIdOf(state, it.Iteration + 1) };
                    state.Iterations.Add(next);
                    loop.Save(state);
                }

                if (m.Loop!.Iterations < Options.Iterations || (restarted && await services.GetRequiredService<IRunRepository>().GetAsync(next.RunId!.Value, ct) is null))
                {
                    await AnnounceAgainAsync(m, ct);
                }

                Simulating(next, resume: false);
            }

            if (it.Scores is null)
            {
                Score(it);
            }
        }

        private Task AnnounceAgainAsync(CheckpointReady m, CancellationToken ct) =>
            _bus.Publish(m with { Loop = m.Loop! with { Iterations = Math.Max(m.Loop.Iterations, Options.Iterations) } }, ct);

        private void Score(LoopIteration it)
        {
            progress.Report($"iteration {it.Iteration}: evaluating {loop.Short(it.TrainedCheckpoint!)}");
            it.Scores = loop.Evaluate($"iteration {it.Iteration}", it.TrainedCheckpoint!, questions, progress);
            loop.Save(state);
            loop.Report(state);
        }
    }
}
