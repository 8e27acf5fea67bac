using StableAlignment.Contracts;
namespace StableAlignment.Benchmarks;

public sealed record ComparisonRun(int Seed, PreferenceScore Base, PreferenceScore Sft, PreferenceScore StableAlignment);

/// <summary>
/// Stable Alignment against the SFT baseline from the same base and data: the bundled rated answers
/// (data/alignment/rated.jsonl; its train split for training, its held-out questions for measuring), the tiny
/// byte-level model from one random initialisation per seed, identical schedules.
/// </summary>
public static class ComparisonBenchmark
{
    public static (List<RatedGroup> Train, List<RatedGroup> Heldout) Load()
    {
        var train = new List<RatedGroup>();
        var heldout = new List<RatedGroup>();
        foreach (var line in File.ReadLines(RepositoryRoot.Combine("data", "alignment", "rated.jsonl")).Where(l => l.Trim().Length > 0))
        {
            var n = JsonNode.Parse(line)!;
            var answers = n["answers"]!.AsArray();
            var group = new RatedGroup(
                $"### Instruction:\n{n["question"]!.GetValue<string>()}\n\n### Response:",
                [.. answers.Select(a => a!["text"]!.GetValue<string>())],
                [.. answers.Select(a => a!["rating"]!.GetValue<int>())]);
            (n["split"]!.GetValue<string>() == "heldout" ? heldout : train).Add(group);
        }

        return (train, heldout);
    }

    public static async Task<List<ComparisonRun>> RunAsync(int[] seeds, int epochs)
    {
        var (train, heldout) = Load();
        var tokenizer = new ByteTokenizer();
        var runs = new List<ComparisonRun>();
        foreach (var seed in seeds)
        {
            var root = TestConfiguration.TempPath($"compare-{seed}");
            TrainOptions Options(bool sft) => new()
            {
                Epochs = epochs, Accumulation = 4, Seed = seed, LearningRate = 1e-3, CheckpointEvery = 10_000, MaxLength = 192, Threads = Environment.ProcessorCount,
                Loss = new LossOptions { Kind = sft ? LossKind.Sft : LossKind.StableAlignment, Margin = 10, Ratio = 0.2 },
            };
            TorchRuntime.Initialize(Environment.ProcessorCount);
            var baseScore = PreferenceEval.Score(new LlamaForCausalLM(LlamaConfig.Tiny, seed), tokenizer, heldout);
            var sft = await new ModelTrainer(Options(sft: true), tokenizer).RunAsync(train, Path.Combine(root, "sft"), "bundled");
            var sa = await new ModelTrainer(Options(sft: false), tokenizer).RunAsync(train, Path.Combine(root, "sa"), "bundled");
            var run = new ComparisonRun(seed, baseScore,
                PreferenceEval.Score(Checkpoints.Load(sft.OutDir).Model, tokenizer, heldout),
                PreferenceEval.Score(Checkpoints.Load(sa.OutDir).Model, tokenizer, heldout));
            Console.WriteLine($"  seed {seed}: NLL gap base {run.Base.NllGap:F3}, SFT {run.Sft.NllGap:F3}, SA {run.StableAlignment.NllGap:F3}; "
                + $"pairwise accuracy {run.Base.PairwiseAccuracy:P0} / {run.Sft.PairwiseAccuracy:P0} / {run.StableAlignment.PairwiseAccuracy:P0}");
            runs.Add(run);
            Directory.Delete(root, recursive: true);
        }

        return runs;
    }
}
