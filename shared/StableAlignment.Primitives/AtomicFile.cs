using System.Text;

namespace StableAlignment.Primitives;

/// <summary>
/// Files that are resumed from or read by another service are replaced whole: written to a temporary file beside
/// the target, flushed to disk, then renamed over it (and the folder flushed), so a crash leaves the old file or the
/// new one, never half of either.
/// </summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, Encoding.UTF8.GetBytes(text));

    public static void Write(string path, ReadOnlySpan<byte> bytes)
    {
        var full = Path.GetFullPath(path);
        var temp = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                file.Write(bytes);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
            FlushFolder(Path.GetDirectoryName(full)!);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>Flushes every file under <paramref name="folder"/> to disk (before the folder is renamed into place).</summary>
    public static void FlushTree(string folder)
    {
        foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>Makes a rename in <paramref name="folder"/> durable (a no-op where folders cannot be opened, as on Windows).</summary>
    public static void FlushFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            using var handle = File.OpenHandle(folder, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Some file systems refuse to sync a folder; the rename itself is still atomic.
        }
    }

    /// <summary>
    /// The lines of a JSON Lines file that is appended to as work proceeds: a last line cut off by a crash is dropped
    /// (reported through <paramref name="torn"/>); a bad line before the last is an error naming it.
    /// </summary>
    public static List<T> ReadAppended<T>(string path, Func<string, T> parse, Action<string>? torn = null)
    {
        var items = new List<T>();
        if (!File.Exists(path))
        {
            return items;
        }

        var lines = File.ReadAllLines(path);
        var last = Array.FindLastIndex(lines, l => l.Trim().Length > 0);
        for (var i = 0; i <= last; i++)
        {
            if (lines[i].Trim().Length == 0)
            {
                continue;
            }

            try
            {
                items.Add(parse(lines[i]));
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
            {
                if (i == last)
                {
                    torn?.Invoke($"{path}, line {i + 1}: dropped a cut-off last line ({e.Message}).");
                    break;
                }

                throw new InvalidDataException($"{path}, line {i + 1}: not readable ({e.Message}).", e);
            }
        }

        return items;
    }
}
