using System.ComponentModel;
using System.Text.Json.Serialization;

namespace StableAlignment.Contracts;

/// <summary>
/// How a SANDBOX world is set up and run: the one definition of every simulation setting. <see cref="StartSimulation"/>
/// is these settings plus the run's id and its question feed, so the message and <c>POST /api/agents/runs</c> carry them
/// as they are; <c>sa simulate</c> makes one option per property (<c>GridSize</c> → <c>--grid-size</c>), and
/// docs/configuration.md documents each once. The defaults here are the only defaults (the paper's world: 10×10).
/// </summary>
[MassTransit.ExcludeFromTopology]
public record SimulationSettings
{
    [Description("Side of the square world (N×N agents, 2–100; the paper's is 10)")]
    public int GridSize { get; init; } = 10;

    [Description("Rounds: each agent leads one interaction per round (1–10000)")]
    public int Rounds { get; init; } = 1;

    [Description("Who starts aligned: all_good, all_bad, half_half or mixed_half_half")]
    [JsonConverter(typeof(InitialSettingConverter))]
    public InitialSetting InitialSetting { get; init; } = InitialSetting.AllGood;

    [Description("Peers asked for feedback per interaction")]
    public int Peers { get; init; } = 4;

    [Description("Take part of the peers from outside the social circle")]
    public bool GlobalInteraction { get; init; }

    [Description("With global interaction: share of the circle dropped (0–1)")]
    public double Dropout { get; init; } = 0.5;

    [Description("Random seed: same seed, same world and peers")]
    public int Seed { get; init; }

    [Description("Seed memories per agent drawn from the prior (the original's 50; the prior needs twice as many entries per label)")]
    public int SeedMemories { get; init; } = 50;

    /// <summary>The first setting that cannot run, as "field …" (named as in the message), or null.</summary>
    public string? SettingsProblem() => this switch
    {
        { GridSize: < 2 or > 100 } => $"gridSize {GridSize} is outside 2–100.",
        { Rounds: < 1 or > 10_000 } => $"rounds {Rounds} is outside 1–10000.",
        _ when !Enum.IsDefined(InitialSetting) => $"initialSetting {(int)InitialSetting} is not one of {WireEnum<InitialSetting>.All}.",
        { Peers: < 1 } => "peers must be at least 1.",
        _ when !double.IsFinite(Dropout) || Dropout is < 0 or > 1 => "dropout must be within 0–1.",
        { SeedMemories: < 0 } => "seedMemories must not be negative.",
        _ => null,
    };
}

/// <summary>The initial settings of a world: who starts aligned (named on the wire as the original code names them).</summary>
public enum InitialSetting
{
    [JsonStringEnumMemberName("all_good")]
    AllGood,

    [JsonStringEnumMemberName("all_bad")]
    AllBad,

    /// <summary>Half of the agents aligned, in one block of the grid (row ≤ column, in order, up to half).</summary>
    [JsonStringEnumMemberName("half_half")]
    HalfHalf,

    /// <summary>Half of the agents aligned, drawn at random over the grid.</summary>
    [JsonStringEnumMemberName("mixed_half_half")]
    MixedHalfHalf,
}

/// <summary>An <see cref="InitialSetting"/> in JSON as its name (<c>"mixed_half_half"</c>).</summary>
public sealed class InitialSettingConverter() : WireEnumConverter<InitialSetting>("initialSetting");
