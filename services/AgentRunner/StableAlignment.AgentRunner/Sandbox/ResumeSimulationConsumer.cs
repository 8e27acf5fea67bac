namespace StableAlignment.AgentRunner.Sandbox;

/// <summary>Resumes a stored run: missing and failed interactions are run again.</summary>
public sealed class ResumeSimulationConsumer(IRunRepository runs, SimulationRunner runner) : IConsumer<ResumeSimulation>
{
    public async Task Consume(ConsumeContext<ResumeSimulation> context)
    {
        var run = await runs.GetAsync(context.Message.RunId, context.CancellationToken);
        if (run?.Simulation is null)
        {
            throw new InvalidMessageException($"ResumeSimulation: no simulation run {context.Message.RunId}.");
        }

        await runs.SetStatusAsync(run.Id, RunStatus.Running, context.CancellationToken);
        await runner.RestartAsync(run.Id);
    }
}

public sealed class ResumeSimulationConsumerDefinition : RetryingConsumerDefinition<ResumeSimulationConsumer>;
