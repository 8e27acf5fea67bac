using System.Collections.Concurrent;
using StableAlignment.Models;

namespace StableAlignment.AgentRunner;

/// <summary>
/// Answers a posted question: the social agent drafts, observers rate the draft for alignment and engagement
/// (concurrently), and the completed interaction is published for memory-store. A model that keeps failing
/// yields an <see cref="InteractionFailed"/> record with the reason instead of a lost message.
/// </summary>
public sealed class QuestionPosedConsumer(
    IModelCatalog models,
    IOptions<PromptOptions> prompts,
    IRequestClient<RateAnswer> rater,
    IRunRepository runs,
    MemoryStoreQueries memoryStore,
    ILogger<QuestionPosedConsumer> logger) : IConsumer<QuestionPosed>
{
    private static readonly ConcurrentDictionary<Guid, bool> KnownRuns = new();

    // Longer than most on purpose: one interaction's Back-Scatter steps in order (recall, draft, peers, revise, rate), each
    // a line or two, read top to bottom as the paper describes them.
    public async Task Consume(ConsumeContext<QuestionPosed> context)
    {
        var q = context.Message;
        Validate(q);
        var ct = context.CancellationToken;
        if (await AnsweredAsync(q, ct))
        {
            logger.LogInformation("Question {QuestionId} of run {RunId} already answered; ignoring the repeat", q.QuestionId, q.RunId);
            return;
        }

        if (KnownRuns.Count > 10_000)
        {
            KnownRuns.Clear(); // only a shortcut before an idempotent create: forgetting costs one store call
        }

        if (KnownRuns.TryAdd(q.RunId, true))
        {
            await runs.TryCreateAsync(new RunRecord { Id = q.RunId, CreatedAt = DateTime.UtcNow }, ct);
        }

        var social = models.Chat(ModelRole.SocialAgent);
        string draft;
        ModelReply reply;
        try
        {
            reply = await social.ReplyAsync(prompts.Value.Render(prompts.Value.Draft, q.Text), ct);
            draft = reply.Text.Trim();
        }
        catch (Exception e) when (IsModelFailure(e, ct))
        {
            await Fail(context, $"Draft by {social.ModelId} failed: {e.GetType().Name}: {e.Message}");
            return;
        }

        if (draft.Length == 0)
        {
            await Fail(context, $"The social agent {social.ModelId} returned an empty draft.");
            return;
        }

        await context.Publish(new AnswerDrafted
        {
            RunId = q.RunId, InteractionId = q.QuestionId, Round = q.Round, AgentId = q.AgentId,
            Question = q.Text, Draft = draft, Model = social.ModelId,
        }, ct);

        AnswerRated alignment, engagement;
        try
        {
            var ratings = await Task.WhenAll(
                Rate(q, RatingAspect.Alignment, draft, ct),
                Rate(q, RatingAspect.Engagement, draft, ct));
            (alignment, engagement) = (ratings[0], ratings[1]);
        }
        catch (Exception e) when (IsModelFailure(e, ct))
        {
            await Fail(context, $"Observer rating failed: {e.GetType().Name}: {e.Message}");
            return;
        }

        await context.Publish(new InteractionCompleted
        {
            RunId = q.RunId, InteractionId = q.QuestionId, Round = q.Round, AgentId = q.AgentId, Question = q.Text,
            Draft = draft, SocialModel = social.ModelId, DraftAlignment = alignment.Rating, DraftEngagement = engagement.Rating,
            // The tokens of every call, as a simulated interaction records them (the observer's from its replies).
            Tokens = [reply.Usage("social-agent"), .. new[] { alignment.Tokens, engagement.Tokens }.OfType<TokenUsage>()],
            CompletedAt = DateTime.UtcNow,
        }, ct);
        logger.LogInformation(
            "Interaction {InteractionId} of run {RunId} drafted and rated {Alignment}/{Engagement}",
            q.QuestionId, q.RunId, alignment.Rating.Score, engagement.Rating.Score);
    }

    /// <summary>
    /// Asks memory-store whether the question has a completed record, to spare the model calls of a repeat. When it
    /// does not answer, the question is answered anyway: memory-store keeps the first record of an id and drops the rest.
    /// </summary>
    private async Task<bool> AnsweredAsync(QuestionPosed q, CancellationToken ct)
    {
        try
        {
            return await memoryStore.IsCompletedAsync(q.QuestionId, ct);
        }
        catch (RequestTimeoutException)
        {
            logger.LogWarning("memory-store did not say whether question {QuestionId} was answered; answering it", q.QuestionId);
            return false;
        }
    }

    private async Task<AnswerRated> Rate(QuestionPosed q, RatingAspect aspect, string answer, CancellationToken ct)
    {
        var response = await rater.GetResponse<AnswerRated>(new RateAnswer
        {
            RunId = q.RunId, InteractionId = q.QuestionId, Aspect = aspect, Stage = AnswerStage.Draft,
            Question = q.Text, Answer = answer,
        }, ct);
        return response.Message;
    }

    private Task Fail(ConsumeContext<QuestionPosed> context, string reason)
    {
        var q = context.Message;
        logger.LogWarning("Interaction {InteractionId} of run {RunId} failed: {Reason}", q.QuestionId, q.RunId, reason);
        return context.Publish(new InteractionFailed
        {
            RunId = q.RunId, InteractionId = q.QuestionId, Round = q.Round, AgentId = q.AgentId, Question = q.Text,
            Reason = reason, FailedAt = DateTime.UtcNow,
        }, context.CancellationToken);
    }

    /// <summary>Model calls have been retried by the HTTP pipeline already; what still fails is recorded, not redelivered.</summary>
    private static bool IsModelFailure(Exception e, CancellationToken ct) =>
        e is not InvalidMessageException && !(e is OperationCanceledException && ct.IsCancellationRequested);

    private static void Validate(QuestionPosed q)
    {
        if (q.RunId == Guid.Empty)
        {
            throw new InvalidMessageException("QuestionPosed.runId is missing or empty.");
        }

        if (q.QuestionId == Guid.Empty)
        {
            throw new InvalidMessageException("QuestionPosed.questionId is missing or empty.");
        }

        if (QuestionRules.Problem(q.Text) is { } problem)
        {
            throw new InvalidMessageException($"QuestionPosed.text: {problem}");
        }
    }
}

public sealed class QuestionPosedConsumerDefinition : RetryingConsumerDefinition<QuestionPosedConsumer>;
