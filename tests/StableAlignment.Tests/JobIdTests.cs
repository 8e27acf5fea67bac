using StableAlignment.Contracts;
using StableAlignment.Trainer;

namespace StableAlignment.Tests;

public sealed class JobIdTests
{
    private static readonly TrainModel Request = new() { RunId = Guid.Parse("11111111-1111-1111-1111-111111111111"), DatasetId = DatasetId.Parse("ds-1") };

    [Fact]
    public void The_id_of_a_request_is_what_the_api_accepts_and_stays_what_it_was()
    {
        var id = JobId.Of(Request);
        Assert.True(JobId.TryParse(id.Value, out var parsed));
        Assert.Equal(id, parsed);
        Assert.Equal(id, JobId.Of(Request with { }));
        // Ids name existing job folders: the hash of a request with default settings must not change between versions.
        Assert.Equal("job-6784c67b361f29cf", id.Value); // SHA-256 of "11111111-…|ds-1|tiny|stable-alignment|10|0.2|2|0.0003||0", computed independently
    }

    [Fact]
    public void Settings_that_change_the_training_change_the_id()
    {
        var id = JobId.Of(Request);
        Assert.NotEqual(id, JobId.Of(Request with { Loss = LossKind.Sft }));
        Assert.NotEqual(id, JobId.Of(Request with { AppendEos = false }));
        Assert.NotEqual(id, JobId.Of(Request with { Truncation = "end" }));
        Assert.NotEqual(id, JobId.Of(Request with { LoraRank = 8 }));
        Assert.Equal(id, JobId.Of(Request with { CheckpointEvery = 7 })); // how often it saves, not what it trains
    }

    [Theory]
    [InlineData("job-../../etc")]
    [InlineData("job-6784C67B361F29CF")]
    [InlineData("job-6784c67b361f29c")]
    [InlineData("7c8f0c8ba8b9b8f6abcd")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_else_is_not_a_job_id(string? text) => Assert.False(JobId.TryParse(text, out _));
}
