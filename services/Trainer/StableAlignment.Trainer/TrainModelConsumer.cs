using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StableAlignment.Contracts;
using StableAlignment.Data;
using StableAlignment.Hosting;
using StableAlignment.Learning;
using StableAlignment.Storage;
using StableAlignment.Primitives;

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
            logger.LogInformation("Training job {JobId} is queued, running or done already", TrainingRunner.JobId(m));
        }

        return Task.CompletedTask;
    }
}

public sealed class TrainModelConsumerDefinition : RetryingConsumerDefinition<TrainModelConsumer>;
