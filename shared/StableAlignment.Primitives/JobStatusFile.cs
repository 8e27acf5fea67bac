namespace StableAlignment.Primitives;

/// <summary>Where an accepted job stands: queued, running (or building), done or failed (with the reason).</summary>
public sealed record JobStatus(string Id, [property: System.Text.Json.Serialization.JsonConverter(typeof(JobStateConverter))] JobState State, string? Reason, DateTime UpdatedAt);

/// <summary>A job's status in one JSON file, replaced whole on every change and read by the status endpoints.</summary>
public sealed class JobStatusFile(string path, string id)
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web);

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public void Write(JobState state, string? reason)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        AtomicFile.WriteAllText(Path, System.Text.Json.JsonSerializer.Serialize(new JobStatus(id, state, reason, DateTime.UtcNow), Json));
    }

    /// <summary>The status; null when there is none; <see cref="JobState.Unknown"/> with the reason when the file cannot be read.</summary>
    public JobStatus? Read()
    {
        try
        {
            return File.Exists(Path) ? JsonLines.ReadJson<JobStatus>(Path, Json) : null;
        }
        catch (InvalidDataException e)
        {
            return new JobStatus(id, JobState.Unknown, e.Message, DateTime.UtcNow);
        }
    }
}
