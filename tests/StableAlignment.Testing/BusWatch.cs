using System.Collections.Concurrent;
using MassTransit;

namespace StableAlignment.Testing;

/// <summary>
/// Counts, per message type, the messages an app's bus published and the consumes it finished (consumed or faulted).
/// A test that must show that "nothing else happened" waits for the consumes it caused instead of sleeping: once the
/// consume of a repeated command has finished, everything that consume published has been counted.
/// </summary>
public sealed class BusWatch : IConsumeObserver, IPublishObserver, IDisposable
{
    private readonly ConcurrentDictionary<Type, int> _published = new();
    private readonly ConcurrentDictionary<Type, int> _consumed = new();
    private readonly ConnectHandle _consumeHandle;
    private readonly ConnectHandle _publishHandle;

    public BusWatch(IBus bus)
    {
        _consumeHandle = bus.ConnectConsumeObserver(this);
        _publishHandle = bus.ConnectPublishObserver(this);
    }

    public int Published<T>() => _published.GetValueOrDefault(typeof(T));

    public int Consumed<T>() => _consumed.GetValueOrDefault(typeof(T));

    /// <summary>Waits until the bus has finished <paramref name="count"/> consumes of <typeparamref name="T"/> (throws at the deadline).</summary>
    public Task WaitConsumedAsync<T>(int count, TimeSpan? timeout = null) =>
        Eventually.ReturnsAsync(() => Task.FromResult(Consumed<T>()), n => n >= count, timeout ?? TimeSpan.FromSeconds(30), $"{count} finished consumes of {typeof(T).Name}");

    public void Dispose()
    {
        _consumeHandle.Disconnect();
        _publishHandle.Disconnect();
    }

    Task IConsumeObserver.PreConsume<T>(ConsumeContext<T> context) => Task.CompletedTask;

    Task IConsumeObserver.PostConsume<T>(ConsumeContext<T> context) => Count(_consumed, typeof(T));

    Task IConsumeObserver.ConsumeFault<T>(ConsumeContext<T> context, Exception exception) => Count(_consumed, typeof(T));

    Task IPublishObserver.PrePublish<T>(PublishContext<T> context) => Task.CompletedTask;

    Task IPublishObserver.PostPublish<T>(PublishContext<T> context) => Count(_published, typeof(T));

    Task IPublishObserver.PublishFault<T>(PublishContext<T> context, Exception exception) => Task.CompletedTask;

    private static Task Count(ConcurrentDictionary<Type, int> counts, Type type)
    {
        counts.AddOrUpdate(type, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}
