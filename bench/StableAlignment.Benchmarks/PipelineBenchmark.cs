using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.Contracts;
using StableAlignment.Models;
using StableAlignment.Storage;

namespace StableAlignment.Benchmarks;

public sealed record PipelineResult(string Transport, int Questions, int Repeats, double MedianPerSecond, double MinPerSecond, double MaxPerSecond, double[] Runs);

/// <summary>
/// Pipeline overhead: questions published on the bus until every interaction is stored, with a model that answers
/// at once (so every millisecond is the platform's: bus, request/response to the rater, store, serialisation).
/// </summary>
public static class PipelineBenchmark
{
    public static async Task<PipelineResult> RunAsync(string transport, IDictionary<string, string?> settings, int questions, int repeats)
    {
        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, settings, s => s.AddSingleton<IModelCatalog>(new InstantModelCatalog()));
        await OnceAsync(app, 50);
        var rates = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            rates.Add(await OnceAsync(app, questions));
            Console.WriteLine($"  {transport} run {i + 1}/{repeats}: {rates[^1]:F0} interactions/s");
        }

        var sorted = rates.Order().ToArray();
        return new PipelineResult(transport, questions, repeats, sorted[sorted.Length / 2], sorted[0], sorted[^1], [.. rates]);
    }

    private static async Task<double> OnceAsync(SingleProcessApp app, int count)
    {
        var runId = NewId.NextGuid();
        var repository = app.Services.GetRequiredService<IInteractionRepository>();
        var messages = Enumerable.Range(0, count)
            .Select(i => new QuestionPosed { RunId = runId, QuestionId = NewId.NextGuid(), Text = $"Benchmark question {i}: is honesty always right?" })
            .ToList();
        var clock = Stopwatch.StartNew();
        await app.Bus.PublishBatch(messages);
        var deadline = TimeSpan.FromMinutes(5);
        while (await repository.CountByRunAsync(runId) < count)
        {
            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"Only {await repository.CountByRunAsync(runId)} of {count} interactions stored in {deadline}.");
            }

            await Task.Delay(10);
        }

        return count / clock.Elapsed.TotalSeconds;
    }
}
