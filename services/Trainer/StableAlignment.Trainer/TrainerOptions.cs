namespace StableAlignment.Trainer;

/// <summary>Bound from the "Trainer" section.</summary>
public sealed class TrainerOptions
{
    public const string Section = "Trainer";

    /// <summary>One folder per job: checkpoints, metrics, job.json.</summary>
    public string Root { get; set; } = "artifacts/training";

    /// <summary>Where datasets received as triplet batches are written.</summary>
    public string ReceivedDatasets { get; set; } = "artifacts/training/datasets";

    /// <summary>dataset-builder's folder, when shared (a compose volume); read first.</summary>
    public string DatasetsRoot { get; set; } = "artifacts/datasets";

    /// <summary>Base models a request may name (besides the tiny and small presets): folders under this root, by relative name.</summary>
    public string ModelsRoot { get; set; } = "artifacts/models";

    public int ProgressEvery { get; set; } = 10;

    /// <summary>Seconds a job waits for a dataset whose batches are still arriving (it is woken by the last batch, not by a timer).</summary>
    public int DataWaitSeconds { get; set; } = 60;

    public int Threads { get; set; }

    /// <summary>A host name (e.g. compose's trainer-gpu): when it resolves at start-up this trainer stands by.</summary>
    public string? StandbyWhenPresent { get; set; }
}
