using System.Text.Json.Serialization;
using StableAlignment.Contracts;

namespace StableAlignment.Storage;

/// <summary>What started a run; stored by these names.</summary>
public enum RunKind
{
    /// <summary>Questions posted one by one (<c>POST /api/questions</c>, <c>QuestionPosed</c>).</summary>
    [JsonStringEnumMemberName("questions")]
    Questions,

    /// <summary>A SANDBOX simulation (<c>StartSimulation</c>).</summary>
    [JsonStringEnumMemberName("simulation")]
    Simulation,
}

public enum RunStatus
{
    Running,
    Completed,
    /// <summary>Finished, but some interactions failed after their retries; resume retries them.</summary>
    Incomplete,
    /// <summary>The run stopped on an error of its own (see <see cref="RunRecord.FailureReason"/>); resume runs it again.</summary>
    Failed,
}

/// <summary>What a simulation run was started with: its settings and feed, enough to rebuild the same world and resume it.</summary>
public sealed record StoredSimulation : SimulationSettings
{
    public string[] Questions { get; init; } = [];
    public PriorEntry[] Prior { get; init; } = [];
    public SocialAgentChoice[]? SocialAgentModels { get; init; }
    public LoopStep? Loop { get; init; }
}

/// <summary>A run groups the interactions that one pipeline or simulation produced.</summary>
public sealed record RunRecord
{
    public required Guid Id { get; init; }
    public RunKind Kind { get; init; } = RunKind.Questions;
    public RunStatus Status { get; init; } = RunStatus.Running;
    /// <summary>Why the run stopped, when <see cref="Status"/> is Failed.</summary>
    public string? FailureReason { get; init; }
    public DateTime CreatedAt { get; init; }
    public StoredSimulation? Simulation { get; init; }
    /// <summary>The run ended and its <c>RunCompleted</c> is not yet known to be published: the outbox entry, kept in the run's own document.</summary>
    public bool AnnouncePending { get; init; }
}

public enum InteractionStatus
{
    Completed,
    Failed,
}

/// <summary>External memory: one record per interaction an agent led (docs/method.md §1.1).</summary>
public sealed record InteractionRecord
{
    public required Guid Id { get; init; }
    public required Guid RunId { get; init; }
    public int Round { get; init; }
    public int AgentId { get; init; }
    public required string Question { get; init; }
    public InteractionStatus Status { get; init; } = InteractionStatus.Completed;
    public string? FailureReason { get; init; }
    public string? Draft { get; init; }
    public string? SocialModel { get; init; }
    public Rating? DraftAlignment { get; init; }
    public Rating? DraftEngagement { get; init; }
    public PeerFeedback[] Peers { get; init; } = [];
    public string? Revised { get; init; }
    public Rating? RevisedAlignment { get; init; }
    public Rating? RevisedEngagement { get; init; }
    public DateTime CompletedAt { get; init; }
    public string Label { get; init; } = "";
    public string? MemoryHintQuestion { get; init; }
    public double? MemoryHintDistance { get; init; }
    public TokenUsage[] Tokens { get; init; } = [];

    public static InteractionRecord From(InteractionCompleted m) => new()
    {
        Id = m.InteractionId,
        RunId = m.RunId,
        Round = m.Round,
        AgentId = m.AgentId,
        Question = m.Question,
        Draft = m.Draft,
        SocialModel = m.SocialModel,
        DraftAlignment = m.DraftAlignment,
        DraftEngagement = m.DraftEngagement,
        Peers = [.. m.Peers],
        Revised = m.Revised,
        RevisedAlignment = m.RevisedAlignment,
        RevisedEngagement = m.RevisedEngagement,
        CompletedAt = m.CompletedAt,
        Label = m.Label,
        MemoryHintQuestion = m.MemoryHint is { Found: true } hint ? hint.Question : null,
        MemoryHintDistance = m.MemoryHint is { Found: true } h ? h.Distance : null,
        Tokens = [.. m.Tokens],
    };

    public static InteractionRecord From(InteractionFailed m) => new()
    {
        Id = m.InteractionId,
        RunId = m.RunId,
        Round = m.Round,
        AgentId = m.AgentId,
        Question = m.Question,
        Status = InteractionStatus.Failed,
        FailureReason = m.Reason,
        CompletedAt = m.FailedAt,
    };
}

/// <summary>
/// Internal memory: the agent's answer to a question in a round, with the question's embedding. The latest round's
/// answer is the agent's current one; keeping the round makes recall during a round see only earlier rounds, so
/// concurrent interactions cannot change each other's prompts.
/// </summary>
public sealed record MemoryEntry
{
    public required Guid Id { get; init; }
    public required Guid RunId { get; init; }
    public required int AgentId { get; init; }
    public required string Question { get; init; }
    /// <summary>The round the answer was given in; seed memories have -1.</summary>
    public int Round { get; init; }
    public required string Answer { get; init; }
    public float[] Embedding { get; init; } = [];
    public DateTime UpdatedAt { get; init; }

    /// <summary>The same (run, agent, question, round) always maps to the same id, so an upsert replaces.</summary>
    public static Guid KeyFor(Guid runId, int agentId, string question, int round) =>
        DeterministicGuid.Create($"memory/{runId:N}/{agentId}/{round}/{question}");
}
