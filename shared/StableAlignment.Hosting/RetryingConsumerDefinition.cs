using MassTransit;

namespace StableAlignment.Hosting;

/// <summary>A consumer definition with the standard in-process retry (see <see cref="RetryPolicies"/>).</summary>
public abstract class RetryingConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(RetryPolicies.Standard);
}
