namespace StableAlignment.Trainer;

public sealed class TrainModelConsumer(TrainingRunner runner, ILogger<TrainModelConsumer> logger) : IConsumer<TrainModel>
{
    public async Task Consume(ConsumeContext<TrainModel> context)
    {
        var m = context.Message;
        if (runner.Refusal(m) is { } refusal)
        {
            throw new InvalidMessageException($"TrainModel: {refusal}");
        }

        if (runner.Enqueue(m))
        {
            return;
        }

        // A repeat of a finished job's request gets its outcome again, never the work: the final checkpoint is announced
        // once more with the same message id (a subscriber that missed it, such as a loop restarted after a crash, goes on).
        if (await runner.AnnounceFinalAgainAsync(m, context.CancellationToken))
        {
            logger.LogInformation("Training job {JobId} is done already; its final checkpoint is announced again", JobId.Of(m));
            return;
        }

        logger.LogInformation("Training job {JobId} is queued or running already", JobId.Of(m));
    }
}

public sealed class TrainModelConsumerDefinition : RetryingConsumerDefinition<TrainModelConsumer>;
