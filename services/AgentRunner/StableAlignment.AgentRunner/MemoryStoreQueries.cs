namespace StableAlignment.AgentRunner;

/// <summary>
/// What agent-runner asks memory-store, the owner of interactions, over the bus. agent-runner never reads
/// memory-store's collections; it learns of stored records from <see cref="InteractionStored"/> and asks for a
/// tally when it needs one (at the start of a round, for a run's status, or when events have gone quiet).
/// </summary>
public sealed class MemoryStoreQueries(IRequestClient<GetRunTally> tally, IRequestClient<FindInteraction> find)
{
    public async Task<RunTally> TallyAsync(Guid runId, int? round, CancellationToken ct, bool withFailures = false) =>
        (await tally.GetResponse<RunTally>(new GetRunTally { RunId = runId, Round = round, WithFailures = withFailures }, ct)).Message;

    /// <summary>The tally, or null when memory-store does not answer in time (the caller shows what it knows).</summary>
    public async Task<RunTally?> TryTallyAsync(Guid runId, CancellationToken ct, bool withFailures = false)
    {
        try
        {
            return await TallyAsync(runId, null, ct, withFailures);
        }
        catch (RequestTimeoutException)
        {
            return null;
        }
    }

    public async Task<bool> IsCompletedAsync(Guid interactionId, CancellationToken ct) =>
        (await find.GetResponse<InteractionFound>(new FindInteraction { InteractionId = interactionId }, ct)).Message.Completed;
}
