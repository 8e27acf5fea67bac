using System.Text.Json;
using StableAlignment.Data;

namespace StableAlignment.Trainer;

/// <summary>
/// Collects a dataset's triplet batches on disk (<c>ReceivedDatasets/&lt;id&gt;/batches</c>, one file per batch,
/// written whole), so neither memory nor a restart loses them and trainers sharing the folder see the same batches;
/// a redelivered batch is not counted twice. Once all have arrived the dataset is written for training, and the jobs
/// waiting for it are woken (<see cref="DatasetArrivals"/>).
/// </summary>
public sealed class TripletBatchConsumer(IOptions<TrainerOptions> options, DatasetArrivals arrivals) : IConsumer<TripletBatchReady>
{
    public const int MaxBatches = 100_000;

    public Task Consume(ConsumeContext<TripletBatchReady> context)
    {
        var m = context.Message;
        if (!DatasetId.IsValid(m.DatasetId))
        {
            throw new InvalidMessageException($"TripletBatchReady: {DatasetId.Problem(m.DatasetId)}");
        }

        if (m.BatchCount is < 1 or > MaxBatches || m.BatchIndex < 0 || m.BatchIndex >= m.BatchCount || m.Groups is null)
        {
            throw new InvalidMessageException($"TripletBatchReady: batch {m.BatchIndex} of {m.BatchCount} is not a batch of a dataset (1–{MaxBatches} batches, index from 0).");
        }

        string folder;
        try
        {
            folder = ConfinedPath.Resolve(options.Value.ReceivedDatasets, m.DatasetId, "datasetId");
        }
        catch (PathEscapeException e)
        {
            throw new InvalidMessageException($"TripletBatchReady: {e.Message}");
        }

        var batches = Directory.CreateDirectory(Path.Combine(folder, "batches")).FullName;
        var suffix = $"-of-{m.BatchCount:D6}.json";
        var file = Path.Combine(batches, $"{m.BatchIndex:D6}{suffix}");
        if (File.Exists(file))
        {
            return Task.CompletedTask; // redelivered
        }

        AtomicFile.WriteAllText(file, JsonSerializer.Serialize(m.Groups));
        var received = Directory.GetFiles(batches, "*" + suffix).Order(StringComparer.Ordinal).ToList();
        if (received.Count < m.BatchCount)
        {
            return Task.CompletedTask;
        }

        var groups = received.SelectMany(f => JsonLines.ReadJson<List<TripletGroup>>(f));
        AtomicFile.WriteAllText(Path.Combine(folder, DatasetFiles.Training),
            JsonSerializer.Serialize(groups.Select(g => new { query = g.Query, responses = g.Responses, scores = g.Scores, models = g.Models })));
        arrivals.Arrived(m.DatasetId);
        return Task.CompletedTask;
    }
}

public sealed class TripletBatchConsumerDefinition : RetryingConsumerDefinition<TripletBatchConsumer>
{
    public TripletBatchConsumerDefinition() => ConcurrentMessageLimit = 1;
}
