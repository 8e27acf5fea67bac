namespace StableAlignment.Contracts;

/// <summary>Asks memory-store whether an interaction has a completed record; answered with <see cref="InteractionFound"/>.</summary>
public sealed record FindInteraction
{
    public required Guid InteractionId { get; init; }
}

public sealed record InteractionFound
{
    public required Guid InteractionId { get; init; }
    public required bool Completed { get; init; }
}
