namespace StableAlignment.Trainer;

public sealed class CancelTrainingConsumer(TrainingRunner runner) : IConsumer<CancelTraining>
{
    public Task Consume(ConsumeContext<CancelTraining> context)
    {
        runner.Cancel(context.Message.JobId);
        return Task.CompletedTask;
    }
}

public sealed class CancelTrainingConsumerDefinition : RetryingConsumerDefinition<CancelTrainingConsumer>;
