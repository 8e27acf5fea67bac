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

namespace StableAlignment.Evaluation;

/// <summary>Bound from the "Evaluator" section.</summary>
public sealed class EvaluatorOptions
{
    public const string Section = "Evaluator";

    /// <summary>One folder per evaluated checkpoint, and the leaderboard.</summary>
    public string Root { get; set; } = "artifacts/evaluations";

    /// <summary>The suite run on every checkpoint-ready event, as <c>kind:path</c>.</summary>
    public List<string> Benchmarks { get; set; } = [];

    public bool Adversarial { get; set; }

    /// <summary>Jailbreak-style wrappers, one per line with {prompt}; the bundled file by default.</summary>
    public string? WrappersFile { get; set; }

    public int Repeats { get; set; } = 1;

    public int? Limit { get; set; }
}

public static class Wrappers
{
    public static List<string> Load(string? path)
    {
        var file = path ?? Path.Combine(AppContext.BaseDirectory, "data", "adversarial", "wrappers.txt");
        return File.Exists(file)
            ? [.. File.ReadLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains("{prompt}", StringComparison.Ordinal))]
            : throw new FileNotFoundException($"Adversarial wrappers not found: {file}", file);
    }
}

/// <summary>Evaluates checkpoints one after another in the background, as their ready events arrive.</summary>
public sealed class EvaluationQueue(IOptions<EvaluatorOptions> options, IServiceProvider services, IBus bus, ILogger<EvaluationQueue> logger) : BackgroundService
{
    private readonly Channel<EvaluateCheckpoint> _queue = Channel.CreateUnbounded<EvaluateCheckpoint>();

    public void Enqueue(EvaluateCheckpoint request) => _queue.Writer.TryWrite(request);

    public string Folder(string checkpointId) =>
        Path.Combine(Path.GetFullPath(options.Value.Root), string.Concat(checkpointId.Select(c => char.IsLetterOrDigit(c) || c == '-' ? c : '_')));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var request in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                var o = options.Value;
                var (model, state) = Checkpoints.Load(request.Location);
                var tokenizer = Checkpoints.TokenizerFor(request.Location);
                var suite = new EvaluationOptions
                {
                    Benchmarks = request.Benchmarks.Count > 0 ? request.Benchmarks : o.Benchmarks, Adversarial = o.Adversarial,
                    Wrappers = o.Adversarial ? Wrappers.Load(o.WrappersFile) : [], Repeats = o.Repeats, Limit = o.Limit,
                };
                var judges = services.GetService<IModelCatalog>();
                var report = await new EvaluationRunner(suite, judges).RunAsync(
                    request.CheckpointId, model, tokenizer, new LocalAnswerer(model, tokenizer, suite.Generation, request.CheckpointId), null,
                    Folder(request.CheckpointId), state.Step, request.Location, ct: stoppingToken);
                Reports.Leaderboard(Path.GetFullPath(o.Root));
                await bus.Publish(new EvaluationCompleted
                {
                    RunId = request.RunId, CheckpointId = request.CheckpointId, ReportLocation = Folder(request.CheckpointId),
                    Scores = report.Scores.ToDictionary(s => s.Key, s => s.Value.Score.Value),
                }, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Evaluation of {CheckpointId} failed", request.CheckpointId);
            }
        }
    }
}

public sealed class CheckpointReadyConsumer(EvaluationQueue queue) : IConsumer<CheckpointReady>
{
    public Task Consume(ConsumeContext<CheckpointReady> context)
    {
        var m = context.Message;
        queue.Enqueue(new EvaluateCheckpoint { RunId = m.RunId, CheckpointId = m.CheckpointId, Location = m.Location });
        return Task.CompletedTask;
    }
}

public sealed class EvaluateCheckpointConsumer(EvaluationQueue queue) : IConsumer<EvaluateCheckpoint>
{
    public Task Consume(ConsumeContext<EvaluateCheckpoint> context)
    {
        if (string.IsNullOrWhiteSpace(context.Message.Location))
        {
            throw new InvalidMessageException("EvaluateCheckpoint needs the checkpoint's location.");
        }

        queue.Enqueue(context.Message);
        return Task.CompletedTask;
    }
}

public sealed class CheckpointReadyConsumerDefinition : RetryingConsumerDefinition<CheckpointReadyConsumer>;

public sealed class EvaluateCheckpointConsumerDefinition : RetryingConsumerDefinition<EvaluateCheckpointConsumer>;

public static class EvaluatorRegistration
{
    public static IServiceCollection AddEvaluator(this IServiceCollection services)
    {
        services.AddOptions<EvaluatorOptions>().BindConfiguration(EvaluatorOptions.Section);
        services.AddStableAlignmentModels();
        services.AddSingleton<EvaluationQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<EvaluationQueue>());
        return services;
    }

    public static void AddEvaluatorConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<CheckpointReadyConsumer, CheckpointReadyConsumerDefinition>();
        bus.AddConsumer<EvaluateCheckpointConsumer, EvaluateCheckpointConsumerDefinition>();
    }

    /// <summary><c>GET /api/evaluations</c>: the leaderboard (every report, best first).</summary>
    public static IEndpointRouteBuilder MapEvaluatorApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/evaluations", (IOptions<EvaluatorOptions> options) => Results.Ok(Reports.Load(Path.GetFullPath(options.Value.Root))));
        return app;
    }
}
