using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StableAlignment.Contracts;
using StableAlignment.Data;
using StableAlignment.Hosting;
using StableAlignment.Storage;
using StableAlignment.Primitives;

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
