using static TorchSharp.torch;

namespace StableAlignment.Tests;

/// <summary>
/// The three precisions on the CPU (TorchSharp runs bf16 there), 20 steps at the authors' learning rate (2e-5) from the
/// saved weights of a model written by transformers: bf16-mixed moves the weights as fp32 does, pure bf16 leaves most
/// of them where they were.
/// </summary>
public sealed class PrecisionTests(ITestOutputHelper output)
{
    private static readonly List<RatedGroup> Data = SmallRatedGroups.Data;

    /// <summary>
    /// Every weight's change over the run, as one flat fp32 vector: the final checkpoint minus the saved start as the
    /// run held it (rounded to bf16 for pure bf16, whose weights never exist in fp32; fp32 for the others, whose
    /// checkpoints hold the fp32 master).
    /// </summary>
    private static async Task<Tensor> UpdateAsync(string folder, string precision)
    {
        var options = new TrainOptions
        {
            Base = folder, Precision = precision, LearningRate = 2e-5, Accumulation = 1, Epochs = 5, MaxLength = 48, Threads = 1, CheckpointEvery = 20, Seed = 3,
        };
        var result = await new ModelTrainer(options, Checkpoints.TokenizerFor(folder)).RunAsync(Data, TestConfiguration.TempPath("precision-" + precision), "ds");
        Assert.Equal(20, result.Steps);
        using var start = HuggingFace.Load(folder);
        using var trained = Checkpoints.LoadModel(result.OutDir);
        var before = start.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var held = precision == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        return cat([.. trained.named_parameters().Select(p => (p.parameter.to(ScalarType.Float32) - before[p.name].to(held).to(ScalarType.Float32)).flatten())]);
    }

    [Fact]
    public async Task Bf16_mixed_moves_the_weights_as_fp32_does_and_pure_bf16_leaves_most_of_them_unchanged()
    {
        var folder = Golden.ModelWithByteTokenizer("hf-tiny-llama");
        using var fp32 = await UpdateAsync(folder, "fp32");
        using var mixed = await UpdateAsync(folder, "bf16-mixed");
        using var bf16 = await UpdateAsync(folder, "bf16");

        var total = fp32.numel();
        var movedFp32 = fp32.ne(0).sum().item<long>();
        var relative = ((mixed - fp32).norm() / fp32.norm()).item<float>();
        var unchangedBf16 = bf16.eq(0).sum().item<long>();
        output.WriteLine($"{total} weights; fp32 moved {movedFp32}; bf16-mixed update differs from fp32's by {relative:P2} (relative L2); "
            + $"pure bf16 left {unchangedBf16} unchanged ({(double)unchangedBf16 / total:P1})");

        Assert.True(movedFp32 > total * 0.9, $"fp32 moved only {movedFp32} of {total} weights");
        Assert.True(relative < 0.05, $"the bf16-mixed update differs from fp32's by {relative:P2}");
        Assert.True(unchangedBf16 > total / 2, $"pure bf16 left only {unchangedBf16} of {total} weights unchanged");
    }

    [Fact]
    public void Bf16_below_the_fine_tuning_learning_rate_warns_and_an_unknown_precision_is_refused()
    {
        Assert.Contains("round away", Assert.Single(new TrainOptions { Precision = "bf16", LearningRate = 2e-5 }.Warnings()), StringComparison.Ordinal);
        Assert.Empty(new TrainOptions { Precision = "bf16-mixed", LearningRate = 2e-5 }.Warnings());
        Assert.Equal("precision: 'fp16' is not one of auto, fp32, bf16-mixed, bf16", new TrainOptions { Precision = "fp16" }.Problem());
        Assert.Equal("bf16-mixed", new TrainOptions().ResolvedPrecision(cuda: true));
        Assert.Equal("fp32", new TrainOptions().ResolvedPrecision(cuda: false));
    }
}

public sealed class MemoryEstimateTests
{
    [Fact]
    public void The_estimate_counts_weights_gradients_adamw_state_master_copies_and_activations_per_precision()
    {
        var tiny = LlamaConfig.Tiny;
        var p = tiny.ParameterCount();
        // Per token of a forward pass: 2 layers × (10·128 + 3·352) values, plus the logits over 259 tokens.
        var fp32 = MemoryEstimate.Of(tiny, new TrainOptions(), "fp32", 1000);
        Assert.Equal((4 * p, 4 * p, 8 * p, 0L), (fp32.Weights, fp32.Gradients, fp32.Optimizer, fp32.Reference));
        Assert.Equal(1000L * ((2 * ((10 * 128) + (3 * 352)) * 4) + (259 * 12)), fp32.Activations);
        var mixed = MemoryEstimate.Of(tiny, new TrainOptions { Loss = new LossOptions { Kind = LossKind.Dpo } }, "bf16-mixed", 1000);
        Assert.Equal((6 * p, 6 * p, 8 * p, 2 * p), (mixed.Weights, mixed.Gradients, mixed.Optimizer, mixed.Reference));
        Assert.Equal(1000L * ((2 * ((10 * 128) + (3 * 352)) * 2) + (259 * 10)), mixed.Activations);
        Assert.Equal(16 * p + fp32.Activations, fp32.Total);
    }

    [Fact]
    public async Task A_run_that_cannot_fit_is_refused_before_its_first_step_with_what_would_fit()
    {
        // 10⁸ tokens per forward pass: terabytes of activations on any machine that runs this suite.
        var options = new TrainOptions { TokensPerForward = 100_000_000, MaxLength = 64, Threads = 1 };
        var outDir = TestConfiguration.TempPath("too-big");
        var error = await Assert.ThrowsAsync<TrainingMemoryException>(() => new ModelTrainer(options, new ByteTokenizer())
            .RunAsync([new RatedGroup("q", ["a", "b"], [7, 1])], outDir, "ds"));
        Assert.Matches(@"^Training needs about [\d.]+ GB \(weights .*activations [\d.]+ GB at 100,000,000 tokens per forward pass\), but the machine has [\d.]+ GB free; what would fit: --tokens-per-forward \d+\.$", error.Message);
        Assert.False(Directory.Exists(outDir), "the refused run wrote its folder");
    }
}
