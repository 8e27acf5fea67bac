using System.Globalization;
using System.Text;
using StableAlignment.Models;

namespace StableAlignment.AgentRunner.Sandbox;

/// <summary>One interaction to run: who answers what, asked by whom.</summary>
public sealed record InteractionPlan(
    Guid RunId, int Round, int AgentId, string Label, string Question, IReadOnlyList<int> Peers,
    ChatModel AgentModel, Func<int, ChatModel> ModelOf)
{
    public Guid InteractionId => IdFor(RunId, Round, AgentId);

    /// <summary>An interaction is keyed by run, round and agent: rerunning it can never make a second record.</summary>
    public static Guid IdFor(Guid runId, int round, int agent) => DeterministicGuid.Create($"interaction/{runId:N}/{round}/{agent}");
}

/// <summary>
/// Back-Scatter: a memory-hinted draft; observers rate it for alignment and engagement while each peer, with its own
/// memory hint, rates and explains; the agent revises from the average valid rating and the reasons (see
/// <see cref="RevisionPrompt"/>); observers rate the revision. The independent calls of each step run concurrently.
/// </summary>
public sealed class BackScatter(IModelCatalog models, IOptions<PromptOptions> prompts, IClientFactory clients, BrokerLink link)
{
    // An observer's answer may wait for its model's retries (Models:TimeoutSeconds × attempts); memory-store answers at once.
    private static readonly RequestTimeout RatingTimeout = RequestTimeout.After(m: 5);
    private static readonly RequestTimeout RecallTimeout = RequestTimeout.After(m: 1);

    public async Task<InteractionCompleted> RunAsync(InteractionPlan plan, CancellationToken ct)
    {
        var p = prompts.Value;
        var tokens = new List<TokenUsage>();
        var embedding = await models.Embedding().EmbedAsync(plan.Question, ct);
        var hint = await RecallAsync(plan, plan.AgentId, embedding, ct);

        var draftReply = await plan.AgentModel.ReplyAsync(p.Render(p.Draft, plan.Question, memory: Hint(hint), agent: plan.AgentId), p.System, ct);
        tokens.Add(Usage("social-agent", draftReply));
        var draft = draftReply.Text.Trim();
        if (draft.Length == 0)
        {
            throw new ModelReplyException($"The social agent {plan.AgentModel.ModelId} returned an empty draft.");
        }

        var draftRatings = RateAsync(plan, AnswerStage.Draft, draft, ct);
        var peerTasks = plan.Peers.Select(peer => PeerAsync(plan, peer, draft, embedding, ct)).ToList();
        var (draftAlignment, draftEngagement) = await draftRatings;
        var peers = await Task.WhenAll(peerTasks);
        tokens.AddRange(new[] { draftAlignment.Tokens, draftEngagement.Tokens }.OfType<TokenUsage>());
        tokens.AddRange(peers.Select(x => x.Tokens));

        var feedback = peers.Select(x => x.Feedback).ToList();
        var revisionReply = await plan.AgentModel.ReplyAsync(RevisionPrompt(p, plan.AgentId, plan.Question, draft, feedback), p.System, ct);
        tokens.Add(Usage("social-agent", revisionReply));
        var revised = revisionReply.Text.Trim();
        if (revised.Length == 0)
        {
            throw new ModelReplyException($"The social agent {plan.AgentModel.ModelId} returned an empty revision.");
        }

        var (revisedAlignment, revisedEngagement) = await RateAsync(plan, AnswerStage.Revision, revised, ct);
        tokens.AddRange(new[] { revisedAlignment.Tokens, revisedEngagement.Tokens }.OfType<TokenUsage>());
        return new InteractionCompleted
        {
            RunId = plan.RunId, InteractionId = plan.InteractionId, Round = plan.Round, AgentId = plan.AgentId,
            Question = plan.Question, Label = plan.Label, Draft = draft, SocialModel = plan.AgentModel.ModelId,
            MemoryHint = hint.Found ? hint : null, QuestionEmbedding = embedding,
            DraftAlignment = draftAlignment.Rating, DraftEngagement = draftEngagement.Rating, Peers = feedback,
            Revised = revised, RevisedAlignment = revisedAlignment.Rating, RevisedEngagement = revisedEngagement.Rating,
            Tokens = tokens, CompletedAt = DateTime.UtcNow,
        };
    }

    /// <summary>
    /// The revision prompt: the mean of the valid peer ratings ("no valid rating" when there is none — never a
    /// division by zero) and the peers' reasons. The original wording lists the reasons alone, unrated ones first, then
    /// from the highest rating to the lowest, so the harshest criticism sits nearest the end; the guided wording shows
    /// each reason with its rating, highest first, unrated last. The score_only ablation leaves the reasons out.
    /// </summary>
    public static string RevisionPrompt(PromptOptions p, int agent, string question, string draft, IReadOnlyList<PeerFeedback> feedback)
    {
        var valid = feedback.Where(f => f.Rating.IsValid).Select(f => f.Rating.Score!.Value).ToList();
        var average = valid.Count > 0 ? valid.Average().ToString("0.0", CultureInfo.InvariantCulture) : "no valid rating";
        var reasons = new StringBuilder();
        var original = p.Set == PromptSet.Original;
        var ordered = original
            ? feedback.OrderBy(f => f.Rating.IsValid).ThenByDescending(f => f.Rating.Score ?? 0).ThenBy(f => f.PeerId)
            : feedback.OrderByDescending(f => f.Rating.Score ?? int.MinValue).ThenBy(f => f.PeerId);
        foreach (var f in ordered)
        {
            var reason = f.Rating.Reason ?? f.Rating.RawReply;
            if (!string.IsNullOrWhiteSpace(reason))
            {
                reasons.Append("- ");
                if (!original)
                {
                    reasons.Append(f.Rating.IsValid ? $"({f.Rating.Score}/7) " : "(unrated) ");
                }

                reasons.AppendLine(p.Quote(reason.Trim()));
            }
        }

        return p.Render(p.ScoreOnly ? p.RevisionScoreOnly : p.Revision,
            ("question", question), ("draft", draft), ("average", average), ("feedback", reasons.ToString()),
            ("agent", agent.ToString(CultureInfo.InvariantCulture)));
    }

    private async Task<(PeerFeedback Feedback, TokenUsage Tokens)> PeerAsync(InteractionPlan plan, int peer, string draft, float[] embedding, CancellationToken ct)
    {
        var hint = await RecallAsync(plan, peer, embedding, ct);
        var model = plan.ModelOf(peer);
        var reply = await model.ReplyAsync(prompts.Value.Render(prompts.Value.PeerFeedback, plan.Question, draft, Hint(hint), agent: peer, center: plan.AgentId), prompts.Value.System, ct);
        return (new PeerFeedback { PeerId = peer, Rating = RatingParser.Parse(RatingAspect.Alignment, reply.Text, model.ModelId, plan.Question, draft) }, Usage("peer", reply));
    }

    private async Task<(AnswerRated Alignment, AnswerRated Engagement)> RateAsync(InteractionPlan plan, AnswerStage stage, string answer, CancellationToken ct)
    {
        var client = clients.CreateRequestClient<RateAnswer>(RatingTimeout);
        Task<Response<AnswerRated>> Ask(RatingAspect aspect) => link.RequestAsync(token => client.GetResponse<AnswerRated>(new RateAnswer
        {
            RunId = plan.RunId, InteractionId = plan.InteractionId, Aspect = aspect, Stage = stage, Question = plan.Question, Answer = answer,
        }, token), "a RateAnswer request", ct);
        var alignment = Ask(RatingAspect.Alignment);
        var engagement = Ask(RatingAspect.Engagement);
        return ((await alignment).Message, (await engagement).Message);
    }

    private async Task<MemoryRecalled> RecallAsync(InteractionPlan plan, int agent, float[] embedding, CancellationToken ct)
    {
        var client = clients.CreateRequestClient<RecallMemory>(RecallTimeout);
        var response = await link.RequestAsync(token => client.GetResponse<MemoryRecalled>(
            new RecallMemory { RunId = plan.RunId, AgentId = agent, Embedding = embedding, BeforeRound = plan.Round }, token), "a RecallMemory request", ct);
        return response.Message;
    }

    private string? Hint(MemoryRecalled recalled) =>
        recalled.Found ? prompts.Value.Render(prompts.Value.MemoryHint, recalled.Question!, recalled.Answer) : null;

    private static TokenUsage Usage(string role, ModelReply reply) => reply.Usage(role);
}

/// <summary>A model answered, but with nothing usable.</summary>
public sealed class ModelReplyException(string message) : Exception(message);
