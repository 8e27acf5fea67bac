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

public sealed class CancelTrainingConsumer(TrainingRunner runner) : IConsumer<CancelTraining>
{
    public Task Consume(ConsumeContext<CancelTraining> context)
    {
        runner.Cancel(context.Message.JobId);
        return Task.CompletedTask;
    }
}

public sealed class CancelTrainingConsumerDefinition : RetryingConsumerDefinition<CancelTrainingConsumer>;
