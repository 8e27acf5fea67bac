namespace StableAlignment.DatasetBuilder;

/// <summary>A completed run becomes a dataset with the paper's settings, when <see cref="DatasetOptions.BuildOnRunCompleted"/>.</summary>
public sealed class RunCompletedConsumer(IOptions<DatasetOptions> options) : IConsumer<RunCompleted>
{
    public Task Consume(ConsumeContext<RunCompleted> context) =>
        options.Value.BuildOnRunCompleted && context.Message.Completed > 0 && context.Message.Reason is null
            ? context.Publish(new BuildDataset { RunId = context.Message.RunId }, context.CancellationToken)
            : Task.CompletedTask;
}

public sealed class RunCompletedConsumerDefinition : RetryingConsumerDefinition<RunCompletedConsumer>;
