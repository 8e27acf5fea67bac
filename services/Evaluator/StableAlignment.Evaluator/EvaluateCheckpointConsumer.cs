namespace StableAlignment.Evaluator;

public sealed class EvaluateCheckpointConsumer(EvaluationQueue queue) : IConsumer<EvaluateCheckpoint>
{
    public Task Consume(ConsumeContext<EvaluateCheckpoint> context) => EnqueueAsync(queue, context.Message, nameof(EvaluateCheckpoint));

    /// <summary>Queues the request; one whose paths leave the configured roots faults (no retry) with the reason.</summary>
    internal static Task EnqueueAsync(EvaluationQueue queue, EvaluateCheckpoint request, string messageType)
    {
        if (EvaluationQueue.Problem(request) is { } problem)
        {
            throw new InvalidMessageException($"{messageType}: {problem}");
        }

        try
        {
            queue.Enqueue(request);
        }
        catch (PathEscapeException e)
        {
            throw new InvalidMessageException($"{messageType}: {e.Message}");
        }

        return Task.CompletedTask;
    }
}

public sealed class EvaluateCheckpointConsumerDefinition : RetryingConsumerDefinition<EvaluateCheckpointConsumer>;
