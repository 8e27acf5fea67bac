using System.Text.Json.Nodes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace StableAlignment.IntegrationTests;

/// <summary>Messages of one exchange that match, read with a plain AMQP client (not the services' own) until disposed.</summary>
public sealed class AmqpWatch : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;

    private AmqpWatch(IConnection connection, IChannel channel)
    {
        _connection = connection;
        _channel = channel;
    }

    /// <summary>The <c>message</c> part of each matching MassTransit envelope.</summary>
    public ConcurrentQueue<JsonNode> Messages { get; } = new();

    public int Count => Messages.Count;

    public static async Task<AmqpWatch> StartAsync(string rabbitMqUri, string exchange, Func<JsonNode, bool> match)
    {
        var connection = await new ConnectionFactory { Uri = new Uri(rabbitMqUri) }.CreateConnectionAsync();
        var channel = await connection.CreateChannelAsync();
        var watch = new AmqpWatch(connection, channel);
        var queue = (await channel.QueueDeclareAsync($"test-watch-{Guid.NewGuid():N}", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
        await channel.QueueBindAsync(queue, exchange, string.Empty);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            var message = JsonNode.Parse(System.Text.Encoding.UTF8.GetString(delivery.Body.Span))!["message"]!;
            if (match(message))
            {
                watch.Messages.Enqueue(message);
            }

            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        return watch;
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
