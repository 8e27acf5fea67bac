using MassTransit;

namespace StableAlignment.Hosting;

/// <summary>
/// In-process retry with intervals. Delayed redelivery is deliberately not used: it needs the broker's
/// delayed-message plugin, and without it the message would be lost.
/// </summary>
public static class RetryPolicies
{
    public static void Standard(IRetryConfigurator retry)
    {
        retry.Intervals(100, 500, 2000, 5000);
        retry.Ignore<InvalidMessageException>();
        // Model calls are retried by the model client's HTTP pipeline alone; retrying here would multiply the attempts.
        retry.Ignore<StableAlignment.Contracts.ModelCallException>();
    }
}
