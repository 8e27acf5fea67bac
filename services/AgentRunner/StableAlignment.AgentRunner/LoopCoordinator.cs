namespace StableAlignment.AgentRunner;

/// <summary>
/// The closed loop as a pipeline on the bus, kept by agent-runner because it owns the runs that carry the loop's
/// state (<see cref="StoredSimulation.Loop"/>). One <see cref="StartSimulation"/> with a <see cref="LoopStep"/> starts
/// it: the run completes → dataset-builder builds its data (<see cref="DatasetBuilt"/>) → here: <see cref="TrainModel"/>
/// from the step's checkpoint → the trainer's final <see cref="CheckpointReady"/> (the evaluator scores it too) → here:
/// the next iteration's <see cref="StartSimulation"/>, played by that checkpoint through the model-server. Every
/// message this consumer publishes has an id fixed by the loop, the iteration and its input, and the next run's id is
/// fixed the same way, so a redelivery or a restart in any phase starts nothing twice.
/// </summary>
public sealed class LoopCoordinator(IRunRepository runs, ILogger<LoopCoordinator> logger) : IConsumer<DatasetBuilt>, IConsumer<CheckpointReady>
{
    public async Task Consume(ConsumeContext<DatasetBuilt> context)
    {
        var m = context.Message;
        if (await runs.GetAsync(m.RunId, context.CancellationToken) is not { Simulation.Loop: { } loop })
        {
            return;
        }

        logger.LogInformation("Loop {LoopId} iteration {Iteration}/{Iterations}: dataset {DatasetId} built; training from {Checkpoint}",
            loop.LoopId, loop.Iteration, loop.Iterations, m.DatasetId, loop.Checkpoint);
        await context.Publish(
            new TrainModel(loop.Training() with { BaseModel = loop.Checkpoint }, m.RunId, m.DatasetId) { Loop = loop },
            c => c.MessageId = DeterministicGuid.Create($"loop/{loop.LoopId}/{loop.Iteration}/train/{m.DatasetId}"),
            context.CancellationToken);
    }

    public async Task Consume(ConsumeContext<CheckpointReady> context)
    {
        var m = context.Message;
        if (m.Loop is not { } loop || !m.Final)
        {
            return;
        }

        if (loop.Iteration >= loop.Iterations)
        {
            logger.LogInformation("Loop {LoopId} finished: iteration {Iteration} trained {Checkpoint}", loop.LoopId, loop.Iteration, m.CheckpointId);
            return;
        }

        if (await runs.GetAsync(m.RunId, context.CancellationToken) is not { Simulation: { } s })
        {
            logger.LogWarning("Loop {LoopId}: checkpoint {Checkpoint} names run {RunId}, which this agent-runner does not hold; the loop stops here", loop.LoopId, m.CheckpointId, m.RunId);
            return;
        }

        var next = loop with { Iteration = loop.Iteration + 1, Checkpoint = LoopStep.CheckpointPrefix + m.Location.Replace('\\', '/'), PreviousCheckpoint = loop.Checkpoint };
        var runId = DeterministicGuid.Create($"loop/{loop.LoopId}/{next.Iteration}/run");
        logger.LogInformation("Loop {LoopId} iteration {Iteration}/{Iterations}: run {RunId} played by {Checkpoint}", loop.LoopId, next.Iteration, loop.Iterations, runId, next.Checkpoint);
        await context.Publish(
            new StartSimulation
            {
                RunId = runId, GridSize = s.GridSize, Rounds = s.Rounds, InitialSetting = s.InitialSetting, Peers = s.Peers, GlobalInteraction = s.GlobalInteraction,
                Dropout = s.Dropout, Seed = s.Seed + 1, SeedMemories = s.SeedMemories, Questions = s.Questions, Prior = s.Prior, SocialAgentModels = next.Society(), Loop = next,
            },
            c => c.MessageId = DeterministicGuid.Create($"loop/{loop.LoopId}/{next.Iteration}/start"),
            context.CancellationToken);
    }
}

/// <summary>The shared retry policy: every message the coordinator publishes has a fixed id, so a retry repeats nothing.</summary>
public sealed class LoopCoordinatorDefinition : RetryingConsumerDefinition<LoopCoordinator>;
