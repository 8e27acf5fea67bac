namespace StableAlignment.Contracts;

/// <summary>A checkpoint was written and can be loaded; evaluators subscribe to this.</summary>
public sealed record CheckpointReady
{
    public required Guid RunId { get; init; }
    public required string CheckpointId { get; init; }
    /// <summary>Folder of the checkpoint, readable by the evaluator.</summary>
    public required string Location { get; init; }
    public required string BaseModel { get; init; }
    public required string DatasetId { get; init; }
    public required int Step { get; init; }
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
