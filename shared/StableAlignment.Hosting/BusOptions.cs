using System.ComponentModel.DataAnnotations;

namespace StableAlignment.Hosting;

public enum BusTransport
{
    InMemory,
    RabbitMq,
}

/// <summary>Bound from the "Bus" section (compose: <c>Bus__Transport</c>, <c>Bus__RabbitMqUri</c>).</summary>
public sealed class BusOptions
{
    public const string Section = "Bus";

    public BusTransport Transport { get; set; } = BusTransport.InMemory;

    /// <summary>e.g. <c>amqp://user:password@rabbitmq:5672/</c>; credentials are never defaulted.</summary>
    public string? RabbitMqUri { get; set; }

    /// <summary>Messages each receive endpoint processes at once.</summary>
    [Range(1, 1024)]
    public int ConcurrentMessageLimit { get; set; } = 32;

    [Range(1, 4096)]
    public int PrefetchCount { get; set; } = 64;
}
