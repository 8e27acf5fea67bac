namespace StableAlignment.Contracts;

/// <summary>
/// dataset-builder finished a dataset; counts per sample type. The claim check for its data: <see cref="Location"/>
/// names its folder under dataset-builder's root, which trainers that share it read (their <c>Trainer:DatasetsRoot</c>);
/// <see cref="Batches"/> says how many <see cref="TripletBatchReady"/> carried it before this event (0: none, the
/// data travel only by location).
/// </summary>
public sealed record DatasetBuilt
{
    public required Guid RunId { get; init; }
    public required DatasetId DatasetId { get; init; }
    public required int Imitation { get; init; }
    public required int SelfCritic { get; init; }
    public required int Realignment { get; init; }
    public required int Groups { get; init; }

    /// <summary>The dataset's folder, relative to dataset-builder's root (its id).</summary>
    public string? Location { get; init; }

    /// <summary>Triplet batches sent before this event; 0 when the dataset is shared by location only.</summary>
    public int Batches { get; init; }
}
