using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StableAlignment.Hosting;

public static class BusServiceCollectionExtensions
{
    /// <summary>How long a stop waits for messages being consumed before cancelling their tokens.</summary>
    public static readonly TimeSpan ConsumerStopTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// MassTransit on the configured transport, with kebab-case endpoints, start-up that waits for the broker,
    /// and raw JSON accepted beside the MassTransit envelope so that plain AMQP clients can publish.
    /// </summary>
    public static IServiceCollection AddStableAlignmentBus(
        this IServiceCollection services,
        IConfiguration configuration,
        Action<IBusRegistrationConfigurator> registerConsumers)
    {
        services.AddOptions<BusOptions>()
            .BindConfiguration(BusOptions.Section)
            .ValidateDataAnnotations()
            .Validate(
                o => o.Transport != BusTransport.RabbitMq || Uri.TryCreate(o.RabbitMqUri, UriKind.Absolute, out _),
                "Bus:RabbitMqUri must be an absolute amqp:// URI when Bus:Transport is RabbitMq.")
            .ValidateOnStart();
        services.AddSingleton<ShutdownGrace>();
        var bus = configuration.GetSection(BusOptions.Section).Get<BusOptions>() ?? new BusOptions();

        services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            x.SetKebabCaseEndpointNameFormatter();
            registerConsumers(x);
            if (bus.Transport == BusTransport.RabbitMq)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    var o = context.GetRequiredService<IOptions<BusOptions>>().Value;
                    cfg.Host(new Uri(o.RabbitMqUri!));
                    Configure(context, cfg, o);
                    cfg.PrefetchCount = o.PrefetchCount;
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) => Configure(context, cfg, context.GetRequiredService<IOptions<BusOptions>>().Value));
            }
        });
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(60);
            o.StopTimeout = TimeSpan.FromSeconds(30);
            // Consumers still busy 5 s into a stop see their message's token cancelled: the message goes back to the
            // queue (delivered again after the restart) instead of holding the stop until the host kills the process.
            o.ConsumerStopTimeout = ConsumerStopTimeout;
        });
        return services;
    }

    private static void Configure<T>(IBusRegistrationContext context, IBusFactoryConfigurator<T> cfg, BusOptions o)
        where T : IReceiveEndpointConfigurator
    {
        cfg.ConfigureJsonSerializerOptions(json =>
        {
            json.Converters.Add(new JsonStringEnumConverter());
            return json;
        });
        cfg.UseRawJsonDeserializer(RawSerializerOptions.AnyMessageType, isDefault: false);
        cfg.ConcurrentMessageLimit = o.ConcurrentMessageLimit;
        cfg.ConfigureEndpoints(context);
    }
}
