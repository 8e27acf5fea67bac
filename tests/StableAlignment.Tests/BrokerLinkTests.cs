using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using StableAlignment.Hosting;

namespace StableAlignment.Tests;

/// <summary>A request in flight when the broker connection drops ends at once, to be tried again, instead of waiting minutes.</summary>
public sealed class BrokerLinkTests
{
    private sealed class Fault : ReceiveEndpointFaulted
    {
        public Uri InputAddress { get; } = new("rabbitmq://localhost/rate-answer");

        public IReceiveEndpoint ReceiveEndpoint => null!;

        public Exception Exception { get; } = new InvalidOperationException("Broker unreachable");
    }

    [Fact]
    public async Task A_fault_abandons_the_requests_in_flight_and_later_requests_run_normally()
    {
        var link = new BrokerLink(NullLogger<BrokerLink>.Instance);
        var inFlight = link.RequestAsync(async token =>
        {
            await Task.Delay(Timeout.Infinite, token);
            return 1;
        }, "a RateAnswer request", TestContext.Current.CancellationToken);

        await link.Faulted(new Fault());
        var lost = await Assert.ThrowsAsync<BrokerLinkLostException>(() => inFlight);
        Assert.Contains("RateAnswer", lost.Message, StringComparison.Ordinal);
        Assert.Equal(1, link.Drops);

        // Further faults of the same outage count once; after the endpoints are ready again a request completes.
        await link.Faulted(new Fault());
        Assert.Equal(1, link.Drops);
        Assert.Equal(2, await link.RequestAsync(_ => Task.FromResult(2), "a request", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task The_callers_own_cancellation_stays_a_cancellation()
    {
        var link = new BrokerLink(NullLogger<BrokerLink>.Instance);
        using var caller = new CancellationTokenSource();
        var request = link.RequestAsync(async token =>
        {
            await Task.Delay(Timeout.Infinite, token);
            return 1;
        }, "a request", caller.Token);
        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        Assert.Equal(0, link.Drops);
    }
}
