namespace StableAlignment.Contracts;

/// <summary>Asks the trainer to fine-tune a base model on a dataset.</summary>
public sealed record TrainModel
{
    public required Guid RunId { get; init; }
    public required string DatasetId { get; init; }
    /// <summary>"tiny", "small" or a folder with a Hugging Face LLaMA-architecture checkpoint.</summary>
    public string BaseModel { get; init; } = "tiny";
    /// <summary>"stable-alignment", "sft", "fixed-margin" or "dpo".</summary>
    public string Loss { get; init; } = "stable-alignment";
    public double Margin { get; init; } = 10;
    public double Ratio { get; init; } = 0.2;
    public int Epochs { get; init; } = 2;
    public double LearningRate { get; init; } = 3e-4;
    public int CheckpointEvery { get; init; } = 50;
    /// <summary>Stop after this many optimiser steps (null: all epochs).</summary>
    public int? MaxSteps { get; init; }
    public int Seed { get; init; }
}
