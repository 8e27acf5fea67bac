using StableAlignment.Models;

namespace StableAlignment.ObserverRater;

/// <summary>
/// Asks the observer model to rate one answer and parses the reply strictly; an unparseable reply is answered
/// as an invalid rating (raw text kept), never as a number.
/// </summary>
public sealed class RateAnswerConsumer(IModelCatalog models, IOptions<PromptOptions> prompts, ILogger<RateAnswerConsumer> logger)
    : IConsumer<RateAnswer>
{
    public async Task Consume(ConsumeContext<RateAnswer> context)
    {
        var m = context.Message;
        if (m.RunId == Guid.Empty || m.InteractionId == Guid.Empty)
        {
            throw new InvalidMessageException("RateAnswer needs runId and interactionId.");
        }

        if (string.IsNullOrWhiteSpace(m.Question) || string.IsNullOrWhiteSpace(m.Answer))
        {
            throw new InvalidMessageException("RateAnswer needs a question and an answer.");
        }

        var template = m.Aspect == RatingAspect.Alignment ? prompts.Value.ObserverAlignment : prompts.Value.ObserverEngagement;
        var observer = models.Chat(ModelRole.Observer);
        var reply = await observer.ReplyAsync(prompts.Value.Render(template, m.Question, m.Answer), context.CancellationToken);
        var rating = RatingParser.Parse(m.Aspect, reply.Text, observer.ModelId, m.Question, m.Answer);
        if (!rating.IsValid)
        {
            logger.LogWarning(
                "Observer {Model} gave an unparseable {Aspect} rating for interaction {InteractionId}: {Reply}",
                observer.ModelId, m.Aspect, m.InteractionId, reply.Text);
        }

        await context.RespondAsync(new AnswerRated
        {
            RunId = m.RunId, InteractionId = m.InteractionId, Stage = m.Stage, Rating = rating,
            Tokens = reply.Usage("observer"),
        });
    }
}

/// <summary>Many ratings at once: model calls are capped per endpoint by the throttle, not by the bus.</summary>
public sealed class RateAnswerConsumerDefinition : RetryingConsumerDefinition<RateAnswerConsumer>
{
    public RateAnswerConsumerDefinition() => ConcurrentMessageLimit = 256;
}
