namespace StableAlignment.Trainer;

/// <summary>
/// A training job's folder and the marker files that say where it stands: <c>job.json</c> (the request, written when
/// the job is accepted), <c>failed</c> (the reason; removed when the job is queued again), <c>done</c> (when it ended).
/// A restarted trainer resumes every job with a request and neither marker.
/// </summary>
public sealed class JobFolder(string path)
{
    private const string Request = "job.json";
    private const string FailedMarker = "failed";
    private const string DoneMarker = "done";

    public string Path { get; } = path;

    public string RequestFile => Marker(Request);

    public bool HasRequest => File.Exists(RequestFile);

    public bool IsDone => File.Exists(Marker(DoneMarker));

    public bool HasFailed => File.Exists(Marker(FailedMarker));

    /// <summary>The failure's reason; null when the job has not failed.</summary>
    public string? Failure => HasFailed ? File.ReadAllText(Marker(FailedMarker)) : null;

    /// <summary>What the API shows: failed (with the reason), done, running once a step was recorded, else queued.</summary>
    public JobState State(bool stepsRecorded) =>
        HasFailed ? JobState.Failed : IsDone ? JobState.Done : stepsRecorded ? JobState.Running : JobState.Queued;

    public void MarkDone() => AtomicFile.WriteAllText(Marker(DoneMarker), DateTime.UtcNow.ToString("O"));

    public void MarkFailed(string reason) => AtomicFile.WriteAllText(Marker(FailedMarker), reason);

    /// <summary>Accepts the request again: written whole, and a failure from an earlier attempt removed.</summary>
    public void Accept(string request)
    {
        Directory.CreateDirectory(Path);
        File.Delete(Marker(FailedMarker));
        AtomicFile.WriteAllText(RequestFile, request);
    }

    private string Marker(string name) => System.IO.Path.Combine(Path, name);
}
