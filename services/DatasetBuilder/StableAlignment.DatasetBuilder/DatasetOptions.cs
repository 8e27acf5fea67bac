namespace StableAlignment.DatasetBuilder;

/// <summary>Bound from the "Datasets" section.</summary>
public sealed class DatasetOptions
{
    public const string Section = "Datasets";

    /// <summary>Folder that holds one sub-folder per dataset id.</summary>
    public string Root { get; set; } = "artifacts/datasets";

    /// <summary>Build a dataset (5:1:1, 10 % held out) whenever a run completes.</summary>
    public bool BuildOnRunCompleted { get; set; } = true;

    /// <summary>
    /// How a dataset reaches the trainers, once: <see cref="DatasetDelivery.Batches"/> sends its training groups as
    /// triplet batches (for trainers that do not see this folder); <see cref="DatasetDelivery.Shared"/> sends none, and
    /// <see cref="DatasetBuilt"/> alone names where the dataset lies (a claim check), for trainers that read this folder
    /// as their <c>Trainer:DatasetsRoot</c> (a shared volume, or one process).
    /// </summary>
    public DatasetDelivery Delivery { get; set; } = DatasetDelivery.Batches;
}

/// <summary>How a built dataset travels to the trainers (see <see cref="DatasetOptions.Delivery"/>).</summary>
public enum DatasetDelivery
{
    Batches,
    Shared,
}
