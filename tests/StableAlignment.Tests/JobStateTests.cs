using StableAlignment.Primitives;
using StableAlignment.Trainer;

namespace StableAlignment.Tests;

/// <summary>Job states are one type with one spelling on disk and over HTTP; a training job's markers are one type's.</summary>
public sealed class JobStateTests
{
    [Theory]
    [InlineData(JobState.Queued, "queued")]
    [InlineData(JobState.Building, "building")]
    [InlineData(JobState.Reported, "reported")]
    [InlineData(JobState.Failed, "failed")]
    public void A_state_is_written_and_read_in_lower_case(JobState state, string word)
    {
        Assert.Equal($"\"{word}\"", JsonSerializer.Serialize(state));
        Assert.Equal(state, JsonSerializer.Deserialize<JobState>($"\"{word}\""));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<JobState>("3"));
    }

    /// <summary>The web hosts add a converter that spells enums in PascalCase; a job's state keeps its own spelling.</summary>
    [Fact]
    public void A_status_keeps_its_spelling_under_a_host_wide_enum_converter()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
        Assert.Contains("\"state\":\"done\"", JsonSerializer.Serialize(new JobStatus("x", JobState.Done, null, DateTime.UnixEpoch), options), StringComparison.Ordinal);
    }

    [Fact]
    public void A_status_file_written_before_the_type_existed_reads_the_same()
    {
        var path = TestConfiguration.TempPath("status") + ".json";
        File.WriteAllText(path, """{"id":"ds-1","state":"done","reason":null,"updatedAt":"2026-12-03T10:00:00Z"}""");
        Assert.Equal(JobState.Done, new JobStatusFile(path, "ds-1").Read()!.State);
        File.WriteAllText(path, """{"id":"ds-1","state":"sideways"}""");
        Assert.Equal(JobState.Unknown, new JobStatusFile(path, "ds-1").Read()!.State);
    }

    [Fact]
    public void A_training_job_folder_moves_from_queued_to_running_to_failed_and_back_to_queued_when_accepted_again()
    {
        var job = new JobFolder(TestConfiguration.TempPath("job"));
        job.Accept("{}");
        Assert.Equal(JobState.Queued, job.State(stepsRecorded: false));
        Assert.Equal(JobState.Running, job.State(stepsRecorded: true));
        job.MarkFailed("out of memory");
        Assert.Equal((JobState.Failed, "out of memory"), (job.State(true), job.Failure));
        job.Accept("{}");
        Assert.Equal((JobState.Queued, (string?)null), (job.State(false), job.Failure));
        job.MarkDone();
        Assert.Equal(JobState.Done, job.State(true));
    }
}
