namespace StableAlignment.Evaluator;

public sealed class CheckpointReadyConsumer(EvaluationQueue queue) : IConsumer<CheckpointReady>
{
    public Task Consume(ConsumeContext<CheckpointReady> context)
    {
        var m = context.Message;
        return EvaluateCheckpointConsumer.EnqueueAsync(queue, new EvaluateCheckpoint { RunId = m.RunId, CheckpointId = m.CheckpointId, Location = m.Location }, nameof(CheckpointReady));
    }
}

public sealed class CheckpointReadyConsumerDefinition : RetryingConsumerDefinition<CheckpointReadyConsumer>;
