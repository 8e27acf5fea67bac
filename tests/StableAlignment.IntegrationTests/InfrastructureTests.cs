using MongoDB.Bson;
using MongoDB.Driver;

namespace StableAlignment.IntegrationTests;

/// <summary>Which broker and database the suite runs on, and the Testcontainers path where Docker is present.</summary>
public sealed class InfrastructureTests(InfrastructureFixture fixture)
{
    [Fact]
    public async Task Where_docker_is_present_the_suite_runs_on_real_rabbitmq_and_mongod_containers()
    {
        var infra = fixture.Infrastructure;
        TestContext.Current.TestOutputHelper?.WriteLine($"integration tests run on: {infra.Source}");
        Assert.SkipUnless(infra.Source == "Testcontainers", $"Testcontainers path not taken: {infra.ContainersSkipped}");

        var info = await new MongoClient(infra.MongoUri).GetDatabase("admin").RunCommandAsync<BsonDocument>(new BsonDocument("buildInfo", 1));
        Assert.StartsWith("7.", info["version"].AsString, StringComparison.Ordinal);
        Assert.StartsWith("amqp://", infra.RabbitMqUri, StringComparison.Ordinal);
    }
}
