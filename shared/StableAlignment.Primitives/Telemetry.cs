using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace StableAlignment.Primitives;

/// <summary>
/// The project's own metrics and trace source ("StableAlignment"), exported with the framework's over OTLP (see
/// ServiceDefaults). Counters move where the fact becomes true: interactions and ratings when memory-store stores a
/// record, training figures at each step, evaluation scores when a report is written.
/// </summary>
public static class Telemetry
{
    public const string Name = "StableAlignment";

    public static readonly Meter Meter = new(Name);

    public static readonly ActivitySource Source = new(Name);

    public static readonly Counter<long> InteractionsCompleted =
        Meter.CreateCounter<long>("sa.interactions.completed", "{interaction}", "Interactions stored as completed (each id once)");

    public static readonly Counter<long> InteractionsFailed =
        Meter.CreateCounter<long>("sa.interactions.failed", "{interaction}", "Interactions stored as failed after their retries");

    public static readonly Counter<long> Ratings =
        Meter.CreateCounter<long>("sa.ratings", "{rating}", "Ratings in stored interactions, by role (peer, observer) and validity");

    public static readonly Counter<long> Tokens =
        Meter.CreateCounter<long>("sa.model.tokens", "{token}", "Model tokens of stored interactions, by model, role and kind (prompt, completion)");

    public static readonly Counter<double> Cost =
        Meter.CreateCounter<double>("sa.model.cost", "{currency}", "Cost of the model tokens of stored interactions at the configured Models:Prices, by model and role");

    public static readonly Histogram<double> TrainingLoss =
        Meter.CreateHistogram<double>("sa.training.loss", null, "Stable Alignment loss per optimiser step");

    public static readonly Histogram<double> TrainingTokensPerSecond =
        Meter.CreateHistogram<double>("sa.training.tokens_per_second", "{token}/s", "Training throughput per optimiser step");

    public static readonly Histogram<double> EvaluationScore =
        Meter.CreateHistogram<double>("sa.evaluation.score", null, "Benchmark scores of evaluated checkpoints, by benchmark");

    public static readonly UpDownCounter<long> QueueDepth =
        Meter.CreateUpDownCounter<long>("sa.queue.depth", "{item}",
            "Accepted work waiting, by queue: generation (requests waiting for a model-server batch, by model), evaluation (checkpoints waiting for the evaluator)");

    public static void Queued(string queue, long delta, string? model = null) =>
        QueueDepth.Add(delta, new KeyValuePair<string, object?>("queue", queue), new KeyValuePair<string, object?>("model", model));

    public static void RecordRating(string role, bool valid) =>
        Ratings.Add(1, new KeyValuePair<string, object?>("role", role), new KeyValuePair<string, object?>("valid", valid));
}
