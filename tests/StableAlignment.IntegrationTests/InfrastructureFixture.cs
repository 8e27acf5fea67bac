[assembly: AssemblyFixture(typeof(StableAlignment.IntegrationTests.InfrastructureFixture))]
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]

namespace StableAlignment.IntegrationTests;

/// <summary>One broker and one database for the whole assembly; classes run one after another on it.</summary>
public sealed class InfrastructureFixture : IAsyncLifetime
{
    public Infrastructure Infrastructure { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Infrastructure = await Infrastructure.StartAsync();

    public ValueTask DisposeAsync() => Infrastructure.DisposeAsync();
}
