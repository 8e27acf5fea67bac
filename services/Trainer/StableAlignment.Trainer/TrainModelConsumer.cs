namespace StableAlignment.Trainer;

public sealed class TrainModelConsumer(TrainingRunner runner, ILogger<TrainModelConsumer> logger) : IConsumer<TrainModel>
{
    public Task Consume(ConsumeContext<TrainModel> context)
    {
        var m = context.Message;
        if (runner.Refusal(m) is { } refusal)
        {
            throw new InvalidMessageException($"TrainModel: {refusal}");
        }

        if (!runner.Enqueue(m))
        {
            logger.LogInformation("Training job {JobId} is queued, running or done already", JobId.Of(m));
        }

        return Task.CompletedTask;
    }
}

public sealed class TrainModelConsumerDefinition : RetryingConsumerDefinition<TrainModelConsumer>;
