namespace StableAlignment.MemoryStore;

/// <summary>Answers <see cref="FindInteraction"/>.</summary>
public sealed class FindInteractionConsumer(IInteractionRepository interactions) : IConsumer<FindInteraction>
{
    public async Task Consume(ConsumeContext<FindInteraction> context) =>
        await context.RespondAsync(new InteractionFound
        {
            InteractionId = context.Message.InteractionId,
            Completed = await interactions.GetAsync(context.Message.InteractionId, context.CancellationToken) is { Status: InteractionStatus.Completed },
        });
}

public sealed class FindInteractionConsumerDefinition : RetryingConsumerDefinition<FindInteractionConsumer>;
