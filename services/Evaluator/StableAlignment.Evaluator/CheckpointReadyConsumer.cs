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
using StableAlignment.Hosting;
using StableAlignment.Learning;
using StableAlignment.Models;
using StableAlignment.Storage;
using StableAlignment.Primitives;

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
