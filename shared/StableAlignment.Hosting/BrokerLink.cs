using MassTransit;
using Microsoft.Extensions.Logging;

namespace StableAlignment.Hosting;

/// <summary>
/// Tells requests in flight that the broker connection dropped. A request whose response was lost with the broker
/// would otherwise wait for its whole timeout (minutes, sized for a slow model behind the responder); linked to
/// <see cref="Dropped"/> it ends as soon as a receive endpoint of this process faults, and the caller tries again on
/// the reconnected bus. A response that does arrive for an abandoned request is ignored.
/// </summary>
public sealed class BrokerLink(ILogger<BrokerLink> logger) : IReceiveEndpointObserver
{
    private readonly Lock _gate = new();
    private CancellationTokenSource _current = new();
    private bool _connected = true;

    /// <summary>Cancelled when a receive endpoint faults (the connection dropped); a fresh token after that.</summary>
    public CancellationToken Dropped
    {
        get
        {
            lock (_gate)
            {
                return _current.Token;
            }
        }
    }

    /// <summary>How many outages (faults after the endpoints were ready) since the process started.</summary>
    public int Drops { get; private set; }

    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        CancellationTokenSource dropped;
        bool first;
        lock (_gate)
        {
            dropped = _current;
            _current = new CancellationTokenSource();
            first = _connected;
            _connected = false;
            if (first)
            {
                Drops++;
            }
        }

        // Every endpoint faults on every reconnection attempt during an outage: one warning per outage. The old source is
        // not disposed: a caller may still be linking to its token.
        if (first)
        {
            logger.LogWarning("Receive endpoint {Address} faulted ({Reason}); requests in flight are abandoned and tried again once the bus reconnects",
                faulted.InputAddress, faulted.Exception?.Message ?? "no reason given");
        }

        dropped.Cancel();
        return Task.CompletedTask;
    }

    public Task Ready(ReceiveEndpointReady ready)
    {
        lock (_gate)
        {
            _connected = true;
        }

        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    /// <summary>
    /// Runs a request with <paramref name="ct"/> and <see cref="Dropped"/> linked; a drop surfaces as
    /// <see cref="BrokerLinkLostException"/> (the caller's own cancellation stays an <see cref="OperationCanceledException"/>).
    /// </summary>
    public async Task<T> RequestAsync<T>(Func<CancellationToken, Task<T>> request, string what, CancellationToken ct)
    {
        var dropped = Dropped;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, dropped);
        try
        {
            return await request(linked.Token);
        }
        catch (Exception e) when (dropped.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new BrokerLinkLostException($"the broker connection dropped while {what} was in flight", e);
        }
    }
}

public sealed class BrokerLinkLostException(string message, Exception inner) : Exception(message, inner);
