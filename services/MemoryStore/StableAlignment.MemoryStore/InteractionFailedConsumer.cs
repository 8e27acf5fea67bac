namespace StableAlignment.MemoryStore;

/// <summary>Records failed interactions so that they are visible and can be retried (a completed record is never replaced by a failure).</summary>
public sealed class InteractionFailedConsumer(IInteractionRepository interactions) : IConsumer<InteractionFailed>
{
    public async Task Consume(ConsumeContext<InteractionFailed> context)
    {
        var ct = context.CancellationToken;
        var record = InteractionRecord.From(context.Message);
        if (await interactions.TrySaveAsync(record, ct))
        {
            Telemetry.InteractionsFailed.Add(1);
        }
        else
        {
            record = await interactions.GetAsync(record.Id, ct) ?? record;
        }

        await context.Publish(InteractionCompletedConsumer.Stored(record), ct);
    }
}

public sealed class InteractionFailedConsumerDefinition : RetryingConsumerDefinition<InteractionFailedConsumer>;
