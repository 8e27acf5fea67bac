using System.Text.Json;
using System.Text.Json.Nodes;
using StableAlignment.Models;

namespace StableAlignment.AgentRunner.Sandbox;

/// <summary>
/// Writes a run in the original sample-world form — <c>external_memory/agent_&lt;id&gt;.jsonl</c>, each a JSON array of
/// records — plus <c>summary.json</c> (counts, invalid ratings, mean ratings before and after, tokens and cost by role).
/// Invalid ratings are written as null, never as a number.
/// </summary>
public static class SimulationExport
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<RunSummary> WriteAsync(RunRecord run, IReadOnlyList<InteractionRecord> records, string folder, ModelsOptions? prices = null, CancellationToken ct = default)
    {
        var memoryFolder = Directory.CreateDirectory(Path.Combine(folder, "external_memory")).FullName;
        var completed = records.Where(r => r.Status == InteractionStatus.Completed).ToList();
        foreach (var agent in completed.GroupBy(r => r.AgentId).OrderBy(g => g.Key))
        {
            var array = new JsonArray([.. agent.OrderBy(r => r.Round).Select(Original)]);
            await File.WriteAllTextAsync(Path.Combine(memoryFolder, $"agent_{agent.Key}.jsonl"), array.ToJsonString(Indented), ct);
        }

        var summary = Summary(run, records, prices);
        await File.WriteAllTextAsync(Path.Combine(folder, "summary.json"), JsonSerializer.Serialize(summary, RunSummary.Json), ct);
        return summary;
    }

    private static JsonObject Original(InteractionRecord r) => new()
    {
        ["agent_id"] = r.AgentId,
        ["label"] = r.Label,
        ["iteration"] = r.Round,
        ["question"] = r.Question,
        ["draft_answer"] = r.Draft,
        ["target_id"] = new JsonArray([.. r.Peers.Select(p => (JsonNode)p.PeerId)]),
        ["feedback"] = new JsonArray([.. r.Peers.Select(p => (JsonNode?)(p.Rating.Reason ?? p.Rating.RawReply))]),
        ["rating"] = new JsonArray([.. r.Peers.Select(p => (JsonNode?)p.Rating.Score)]),
        ["revised_answer"] = r.Revised,
        ["gen_moral_score_before"] = r.DraftAlignment?.Score,
        ["gen_moral_score_after"] = r.RevisedAlignment?.Score,
        ["gen_moral_reason_before"] = r.DraftAlignment?.Reason,
        ["gen_moral_reason_after"] = r.RevisedAlignment?.Reason,
        ["gen_engagement_score_before"] = r.DraftEngagement?.Score,
        ["gen_engagement_score_after"] = r.RevisedEngagement?.Score,
        ["gen_engagement_reason_before"] = r.DraftEngagement?.Reason,
        ["gen_engagement_reason_after"] = r.RevisedEngagement?.Reason,
        ["cls_moral_score_before"] = null,
        ["cls_moral_score_after"] = null,
        ["social_model"] = r.SocialModel,
    };

    public static RunSummary Summary(RunRecord run, IReadOnlyList<InteractionRecord> records, ModelsOptions? prices = null)
    {
        var completed = records.Where(r => r.Status == InteractionStatus.Completed).ToList();
        var ratings = completed.SelectMany(r => new[] { r.DraftAlignment, r.DraftEngagement, r.RevisedAlignment, r.RevisedEngagement }
            .Concat(r.Peers.Select(p => p.Rating))).OfType<Rating>().ToList();
        var tokens = new Dictionary<string, TokenTally>();
        double? cost = prices is { Prices.Count: > 0 } ? 0 : null;
        foreach (var g in completed.SelectMany(r => r.Tokens).GroupBy(t => (t.Role, t.Model)).OrderBy(g => g.Key))
        {
            var tally = new TokenTally(g.Count(), g.Sum(t => (long)t.PromptTokens), g.Sum(t => (long)t.CompletionTokens));
            tokens[$"{g.Key.Role}/{g.Key.Model}"] = tally;
            if (cost is not null && prices!.Prices.TryGetValue(g.Key.Model, out var price))
            {
                cost += price.Cost(tally.Prompt, tally.Completion);
            }
        }

        return new RunSummary
        {
            RunId = run.Id,
            Status = run.Status.ToString(),
            Settings = run.Simulation is { } s
                ? new RunSummarySettings(s.GridSize, s.Rounds, s.InitialSetting, s.Peers, s.GlobalInteraction, s.Dropout, s.Seed, s.Questions.Length) : null,
            Interactions = records.Count,
            Completed = completed.Count,
            Failed = records.Count - completed.Count,
            Ratings = ratings.Count,
            InvalidRatings = ratings.Count(r => !r.IsValid),
            MeanAlignmentBefore = Mean(completed.Select(r => r.DraftAlignment)),
            MeanAlignmentAfter = Mean(completed.Select(r => r.RevisedAlignment)),
            MeanEngagementBefore = Mean(completed.Select(r => r.DraftEngagement)),
            MeanEngagementAfter = Mean(completed.Select(r => r.RevisedEngagement)),
            MeanPeerRating = Mean(completed.SelectMany(r => r.Peers.Select(p => p.Rating))),
            InvalidByRole = new()
            {
                ["peer"] = Invalid(completed.SelectMany(r => r.Peers.Select(p => p.Rating))),
                ["observer_alignment"] = Invalid(completed.SelectMany(r => new[] { r.DraftAlignment, r.RevisedAlignment })),
                ["observer_engagement"] = Invalid(completed.SelectMany(r => new[] { r.DraftEngagement, r.RevisedEngagement })),
            },
            Rounds = Rounds(completed),
            MemoryHints = completed.Count(r => r.MemoryHintQuestion is not null),
            Tokens = tokens,
            Cost = cost,
        };
    }

    /// <summary>Ratings given and the share that could not be parsed.</summary>
    private static InvalidShare Invalid(IEnumerable<Rating?> ratings)
    {
        var all = ratings.OfType<Rating>().ToList();
        var invalid = all.Count(r => !r.IsValid);
        return new InvalidShare(all.Count, invalid, all.Count == 0 ? null : Math.Round((double)invalid / all.Count, 4));
    }

    /// <summary>
    /// The society's curves: per round, and per initial group (agents seeded with aligned or misaligned memories), the
    /// mean observer alignment and engagement before and after revision.
    /// </summary>
    public static JsonArray Rounds(IReadOnlyList<InteractionRecord> completed) =>
        new([.. completed.GroupBy(r => r.Round).OrderBy(g => g.Key).Select(round =>
        {
            JsonObject Means(IEnumerable<InteractionRecord> rs) => new()
            {
                ["interactions"] = rs.Count(),
                ["alignment_before"] = Mean(rs.Select(r => r.DraftAlignment)),
                ["alignment_after"] = Mean(rs.Select(r => r.RevisedAlignment)),
                ["engagement_before"] = Mean(rs.Select(r => r.DraftEngagement)),
                ["engagement_after"] = Mean(rs.Select(r => r.RevisedEngagement)),
            };
            var row = Means(round);
            row["round"] = round.Key;
            foreach (var label in round.GroupBy(r => r.Label).OrderBy(g => g.Key))
            {
                row[label.Key] = Means(label);
            }

            return (JsonNode)row;
        })]);

    private static double? Mean(IEnumerable<Rating?> ratings)
    {
        var valid = ratings.Where(r => r is { IsValid: true }).Select(r => (double)r!.Score!.Value).ToList();
        return valid.Count == 0 ? null : Math.Round(valid.Average(), 4);
    }
}
