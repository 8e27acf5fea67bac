namespace StableAlignment.Primitives;

/// <summary>
/// A job claimed by one worker: an exclusive lock on a file in the job's folder, held while the job runs and
/// released by the operating system if the worker dies. Workers sharing the folder (competing consumers on a
/// shared volume) never run the same job twice at once.
/// </summary>
public static class JobClaim
{
    /// <summary>The held claim, or null when another worker holds it.</summary>
    public static IDisposable? TryAcquire(string folder)
    {
        Directory.CreateDirectory(folder);
        try
        {
            return new FileStream(Path.Combine(folder, "claim"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
