namespace StableAlignment.DatasetBuilder;

/// <summary>Bound from the "Datasets" section.</summary>
public sealed class DatasetOptions
{
    public const string Section = "Datasets";

    /// <summary>Folder that holds one sub-folder per dataset id.</summary>
    public string Root { get; set; } = "artifacts/datasets";

    /// <summary>Build a dataset (5:1:1, 10 % held out) whenever a run completes.</summary>
    public bool BuildOnRunCompleted { get; set; } = true;
}
