using Microsoft.Extensions.Hosting;

namespace StableAlignment.Hosting;

/// <summary>
/// A token cancelled a little after the host begins to stop: later than the bus cancels the messages still being
/// consumed (<see cref="BusServiceCollectionExtensions.ConsumerStopTimeout"/>; those go back to the queue), so it only
/// ends work that started during the stop — a message dispatched after that cancellation, whose requests to services
/// stopping in the same process would otherwise wait out every timeout and retry.
/// </summary>
public sealed class ShutdownGrace : IDisposable
{
    public static readonly TimeSpan Delay = BusServiceCollectionExtensions.ConsumerStopTimeout + TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _late = new();
    private readonly CancellationTokenRegistration _registration;

    public ShutdownGrace(IHostApplicationLifetime lifetime) =>
        _registration = lifetime.ApplicationStopping.Register(() => _late.CancelAfter(Delay));

    public CancellationToken Token => _late.Token;

    public void Dispose()
    {
        _registration.Dispose();
        _late.Dispose();
    }
}
