using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace StableAlignment.Models;

/// <summary>
/// Caps the model calls in flight per endpoint (<c>Models:MaxConcurrentCalls</c>), so that a whole society can be
/// started at once without overrunning a server: callers queue here, not in the server's backlog.
/// </summary>
public sealed class EndpointThrottle(IOptions<ModelsOptions> options)
{
    // On the project's meter (by name, as the hosting library's Telemetry): calls queued here for a slot.
    private static readonly Meter Meter = new("StableAlignment");

    private static readonly UpDownCounter<long> Waiting =
        Meter.CreateUpDownCounter<long>("sa.model.calls.waiting", "{call}", "Model calls waiting for a slot of their endpoint (Models:MaxConcurrentCalls), by endpoint");

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _slots = new(StringComparer.OrdinalIgnoreCase);

    public async Task<T> RunAsync<T>(string endpoint, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var slots = _slots.GetOrAdd(endpoint, _ => new SemaphoreSlim(options.Value.MaxConcurrentCalls));
        var tag = new KeyValuePair<string, object?>("endpoint", endpoint);
        Waiting.Add(1, tag);
        try
        {
            await slots.WaitAsync(cancellationToken);
        }
        finally
        {
            Waiting.Add(-1, tag);
        }

        try
        {
            return await call();
        }
        finally
        {
            slots.Release();
        }
    }
}
