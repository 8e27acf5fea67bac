namespace StableAlignment.Contracts;

/// <summary>
/// Asks memory-store for a page of a run's completed interactions, ordered by round then agent; answered with
/// <see cref="InteractionsListed"/>. Pages keep every response far below the broker's message limit.
/// </summary>
public sealed record ListInteractions
{
    public required Guid RunId { get; init; }
    public int Skip { get; init; }
    /// <summary>At most this many records (memory-store caps it at 500).</summary>
    public int Take { get; init; } = 200;
}

/// <summary>A page of completed interactions (without their question embeddings) and the run's completed total.</summary>
public sealed record InteractionsListed
{
    public required Guid RunId { get; init; }
    public required int Total { get; init; }
    public IReadOnlyList<InteractionCompleted> Records { get; init; } = [];
}
