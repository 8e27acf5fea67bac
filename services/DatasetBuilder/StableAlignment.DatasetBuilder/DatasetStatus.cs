namespace StableAlignment.DatasetBuilder;

/// <summary>A build's status, kept beside the datasets in <c>Root/.status/&lt;id&gt;.json</c>.</summary>
public static class DatasetStatus
{
    public static JobStatusFile File(string root, string id) => new(Path.Combine(Path.GetFullPath(root), ".status", id + ".json"), id);
}
