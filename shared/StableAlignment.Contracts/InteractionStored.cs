namespace StableAlignment.Contracts;

/// <summary>
/// memory-store holds a record for this interaction (completed, or failed with its reason). Published after every
/// store, and again when a redelivered record finds itself stored already, so an event lost to a crash between the
/// write and the publish is sent on the redelivery. Listeners count distinct interaction ids, never events.
/// </summary>
public sealed record InteractionStored
{
    public required Guid RunId { get; init; }
    public required Guid InteractionId { get; init; }
    public required int Round { get; init; }
    public required int AgentId { get; init; }
    /// <summary>False when the stored record is a failure.</summary>
    public required bool Completed { get; init; }
}
