namespace StableAlignment.AgentRunner;

/// <summary>Feeds <see cref="InteractionStored"/> to the <see cref="RunTracker"/>.</summary>
public sealed class InteractionStoredConsumer(RunTracker tracker) : IConsumer<InteractionStored>
{
    public Task Consume(ConsumeContext<InteractionStored> context)
    {
        tracker.Observe(context.Message);
        return Task.CompletedTask;
    }
}
