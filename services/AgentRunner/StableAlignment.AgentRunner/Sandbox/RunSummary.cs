using System.Text.Json.Serialization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableAlignment.AgentRunner.Sandbox;

/// <summary>
/// What a run did, as <c>summary.json</c> writes it (snake-case keys, <see cref="Json"/>): counts, invalid ratings,
/// the observer's mean ratings before and after revision, the per-round curves, tokens and cost by role and model.
/// </summary>
public sealed record RunSummary
{
    /// <summary>How summary.json is written and read.</summary>
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public required Guid RunId { get; init; }
    public required string Status { get; init; }
    public RunSummarySettings? Settings { get; init; }
    public int Interactions { get; init; }
    public int Completed { get; init; }
    public int Failed { get; init; }
    public int Ratings { get; init; }
    public int InvalidRatings { get; init; }
    public double? MeanAlignmentBefore { get; init; }
    public double? MeanAlignmentAfter { get; init; }
    public double? MeanEngagementBefore { get; init; }
    public double? MeanEngagementAfter { get; init; }
    public double? MeanPeerRating { get; init; }

    /// <summary>Ratings given and how many could not be parsed, by who gave them: peer, observer_alignment, observer_engagement.</summary>
    public Dictionary<string, InvalidShare> InvalidByRole { get; init; } = [];

    /// <summary>Per round, and per initial group within it, the observer's means (<see cref="SimulationExport.Rounds"/>).</summary>
    public JsonArray Rounds { get; init; } = [];

    public int MemoryHints { get; init; }

    /// <summary>Calls and tokens by "role/model".</summary>
    public Dictionary<string, TokenTally> Tokens { get; init; } = [];

    /// <summary>What the calls cost at the configured prices (null: no prices configured).</summary>
    public double? Cost { get; init; }
}

/// <summary>The settings a run was started with, as the summary shows them.</summary>
public sealed record RunSummarySettings(int Grid, int Rounds, [property: JsonConverter(typeof(InitialSettingConverter))] InitialSetting Init, int Peers, bool Global, double Dropout, int Seed, int Questions);

/// <summary>Ratings given and the share of them that could not be parsed.</summary>
public sealed record InvalidShare(int Ratings, int Invalid, double? Rate);

/// <summary>Calls and tokens of one role and model.</summary>
public sealed record TokenTally(int Calls, long Prompt, long Completion);
