using System.Collections.Concurrent;

namespace StableAlignment.Trainer;

/// <summary>
/// Training jobs waiting for their data, woken when it arrives instead of looking for it on a timer: the
/// <see cref="TripletBatchConsumer"/> calls <see cref="Arrived"/> once a dataset's last batch is written, and every job
/// waiting for that dataset looks again at once.
/// </summary>
public sealed class DatasetArrivals
{
    private readonly ConcurrentDictionary<DatasetId, TaskCompletionSource> _waiting = new();

    public void Arrived(DatasetId id)
    {
        if (_waiting.TryRemove(id, out var arrival))
        {
            arrival.TrySetResult();
        }
    }

    /// <summary>
    /// What <paramref name="find"/> returns, once it returns something: now, or after the dataset arrives. Null when it
    /// has not arrived within <paramref name="timeout"/>.
    /// </summary>
    public async Task<string?> WaitAsync(DatasetId id, Func<string?> find, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var arrival = _waiting.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

            // Looked for after registering, so an arrival between the look and the wait is not missed.
            if (find() is { } found)
            {
                return found;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            try
            {
                await arrival.Task.WaitAsync(left, ct);
            }
            catch (TimeoutException)
            {
                return find();
            }
        }
    }
}
