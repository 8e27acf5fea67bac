using System.ComponentModel;
using System.Text.Json.Serialization;

namespace StableAlignment.Contracts;

/// <summary>
/// What the closed loop repeats and how its society is mixed: the one definition of the loop's settings. <c>sa loop</c>
/// makes one option per property (<c>PreviousShare</c> → <c>--previous-share</c>), the loop's state file records it,
/// and docs/configuration.md documents each once.
/// </summary>
public sealed record LoopRecipe
{
    [Description("Iterations: simulate with the current checkpoint, build the data, train Stable Alignment from it, evaluate")]
    public int Iterations { get; init; } = 3;

    [Description("Society grid side (agents = grid²)")]
    [JsonPropertyName("Grid")]
    public int GridSize { get; init; } = 4;

    [Description("Rounds per simulation")]
    public int Rounds { get; init; } = 2;

    [Description("Seed of the questions' order, the world and training")]
    public int Seed { get; init; } = 1;

    [Description("Training epochs per iteration")]
    public int TrainEpochs { get; init; } = 2;

    [Description("Share of the agents (0–1) that stay on the previous iteration's checkpoint, from iteration 2")]
    public double PreviousShare { get; init; }

    [Description("An OpenAI-compatible endpoint whose model plays --external-share of the agents in every iteration (its key: $SA_EXTERNAL_API_KEY)")]
    public string? ExternalEndpoint { get; init; }

    [Description("The external endpoint's model name")]
    public string? ExternalModel { get; init; }

    /// <summary>The external endpoint's key (from the environment, never an option: it would be saved with the resolved options).</summary>
    public string? ExternalApiKey { get; init; }

    [Description("Share of the agents (0–1) played by the external model")]
    public double ExternalShare { get; init; }

    [Description("Start from this model instead of the pretrained local agent: a training folder, a checkpoint or a Hugging Face model folder (LLaMA, Mistral, Qwen2)")]
    public string? Base { get; init; }

    [Description("Tokens per social agent reply")]
    public int MaxNewTokens { get; init; } = 160;

    public string? Problem() =>
        Iterations < 1 ? "--iterations must be at least 1."
        : GridSize < 2 ? "--grid-size must be at least 2."
        : Rounds < 1 ? "--rounds must be at least 1."
        : TrainEpochs < 1 ? "--train-epochs must be at least 1."
        : MaxNewTokens < 1 ? "--max-new-tokens must be at least 1."
        : PreviousShare is < 0 or >= 1 ? "--previous-share must be in [0, 1)."
        : ExternalShare is < 0 or >= 1 ? "--external-share must be in [0, 1)."
        : PreviousShare + ExternalShare >= 1 ? "--previous-share and --external-share must leave a share for the current checkpoint."
        : ExternalShare > 0 && (string.IsNullOrWhiteSpace(ExternalEndpoint) || string.IsNullOrWhiteSpace(ExternalModel)) ? "--external-share needs --external-endpoint and --external-model."
        : Base is not null && !Directory.Exists(Base) ? $"--base: {Base} is not a folder (a training folder, a checkpoint or a Hugging Face model folder)."
        : null;
}
