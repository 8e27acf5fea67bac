using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>
/// TensorBoard event files (TorchSharp's <c>SummaryWriter</c>, <c>events.out.tfevents.*</c>) beside
/// <c>metrics.jsonl</c>: <c>tensorboard --logdir OUT</c> shows the curves. A resumed run adds a new event file, which
/// TensorBoard reads together with the earlier ones.
/// </summary>
public sealed class TrainingBoard(string folder)
{
    private readonly SummaryWriter _writer = utils.tensorboard.SummaryWriter(folder);

    public void Write(StepMetrics m)
    {
        _writer.add_scalar("train/loss", (float)m.Loss, m.Step);
        _writer.add_scalar("train/sft", (float)m.Sft, m.Step);
        _writer.add_scalar("train/diff", (float)m.Diff, m.Step);
        _writer.add_scalar("train/learning_rate", (float)m.LearningRate, m.Step);
        _writer.add_scalar("train/tokens_per_second", (float)m.TokensPerSecond, m.Step);
        _writer.add_scalar("train/grad_norm", (float)m.GradNorm, m.Step);
    }

    /// <summary>One scalar per benchmark at a checkpoint's step (the evaluator's curves over training).</summary>
    public static void WriteScores(string folder, int step, IEnumerable<KeyValuePair<string, double>> scores)
    {
        var writer = utils.tensorboard.SummaryWriter(folder);
        foreach (var (benchmark, score) in scores)
        {
            writer.add_scalar($"eval/{benchmark}", (float)score, step);
        }
    }
}
