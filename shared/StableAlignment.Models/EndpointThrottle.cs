using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace StableAlignment.Models;

/// <summary>
/// Caps the model calls in flight per endpoint (<c>Models:MaxConcurrentCalls</c>), so that a whole society can be
/// started at once without overrunning a server: callers queue here, not in the server's backlog.
/// </summary>
public sealed class EndpointThrottle(IOptions<ModelsOptions> options)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _slots = new(StringComparer.OrdinalIgnoreCase);

    public async Task<T> RunAsync<T>(string endpoint, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var slots = _slots.GetOrAdd(endpoint, _ => new SemaphoreSlim(options.Value.MaxConcurrentCalls));
        await slots.WaitAsync(cancellationToken);
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
