using System.Collections.Concurrent;
using StableAlignment.Contracts;

namespace StableAlignment.Testing;

/// <summary>
/// A test's receiving side of triplet batches: keeps each dataset's batches by index, so a redelivered batch is not
/// counted twice, and says when every batch has arrived.
/// </summary>
public sealed class TripletBatchCollector
{
    private readonly ConcurrentDictionary<string, Dataset> _datasets = new();

    private sealed class Dataset(int count)
    {
        public int Count { get; } = count;

        public ConcurrentDictionary<int, IReadOnlyList<TripletGroup>> Batches { get; } = new();
    }

    /// <summary>Adds a batch; false when that batch of that dataset was received already.</summary>
    public bool Add(TripletBatchReady batch)
    {
        var dataset = _datasets.GetOrAdd(batch.DatasetId, _ => new Dataset(batch.BatchCount));
        return dataset.Batches.TryAdd(batch.BatchIndex, batch.Groups);
    }

    public bool IsComplete(string datasetId) => _datasets.TryGetValue(datasetId, out var d) && d.Batches.Count == d.Count;

    public int Received(string datasetId) => _datasets.TryGetValue(datasetId, out var d) ? d.Batches.Count : 0;

    /// <summary>The dataset's groups in batch order, once complete.</summary>
    public IReadOnlyList<TripletGroup> Groups(string datasetId) =>
        _datasets.TryGetValue(datasetId, out var d) && d.Batches.Count == d.Count
            ? [.. d.Batches.OrderBy(b => b.Key).SelectMany(b => b.Value)]
            : throw new InvalidOperationException($"Dataset {datasetId} is not complete.");
}
