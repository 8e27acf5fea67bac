namespace StableAlignment.MemoryStore;

/// <summary>Answers <see cref="GetRunTally"/>: counts, a round's agents with records, the common failure reasons.</summary>
public sealed class GetRunTallyConsumer(IInteractionRepository interactions) : IConsumer<GetRunTally>
{
    public async Task Consume(ConsumeContext<GetRunTally> context)
    {
        var m = context.Message;
        var ct = context.CancellationToken;
        var completed = (int)await interactions.CountByRunAsync(m.RunId, InteractionStatus.Completed, ct);
        var failed = (int)await interactions.CountByRunAsync(m.RunId, InteractionStatus.Failed, ct);
        var round = m.Round is { } r ? await interactions.ListByRoundAsync(m.RunId, r, ct) : [];
        var failures = failed == 0 || !m.WithFailures
            ? []
            : (await interactions.ListByRunAsync(m.RunId, ct)).Where(x => x.Status == InteractionStatus.Failed)
                .GroupBy(x => x.FailureReason ?? "unknown").OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(5)
                .Select(g => new FailureCount(g.Key, g.Count())).ToList();
        await context.RespondAsync(new RunTally
        {
            RunId = m.RunId, Completed = completed, Failed = failed,
            RoundCompleted = [.. round.Where(x => x.Status == InteractionStatus.Completed).Select(x => x.AgentId)],
            RoundFailed = [.. round.Where(x => x.Status == InteractionStatus.Failed).Select(x => x.AgentId)],
            Failures = failures,
        });
    }
}

public sealed class GetRunTallyConsumerDefinition : RetryingConsumerDefinition<GetRunTallyConsumer>;
