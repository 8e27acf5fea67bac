using StableAlignment.Data;

namespace StableAlignment.DatasetBuilder;

/// <summary>One alignment sample in Alpaca form with its rating.</summary>
public sealed record Sample(SampleType Type, string Instruction, string Input, string Output, int Rating, string Model)
{
    /// <summary>The short Alpaca prompt; without the Input block when the input is empty.</summary>
    public string Query => AlpacaPrompt.Query(Instruction, Input);

    public static string TypeName(SampleType type) => type switch
    {
        SampleType.Imitation => "imitation",
        SampleType.SelfCritic => "self-critic",
        _ => "realignment",
    };
}
