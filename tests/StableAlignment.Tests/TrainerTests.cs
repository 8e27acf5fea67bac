using static TorchSharp.torch;

namespace StableAlignment.Tests;

public sealed class StableAlignmentLossTests
{
    private static (double Loss, double Sft, double Diff) Loss(double[] nll, int[] ratings, LossOptions? o = null)
    {
        TorchRuntime.Initialize(1);
        var parts = StableAlignmentLoss.Compute(tensor(nll.Select(x => (float)x).ToArray()), ratings, o ?? new LossOptions());
        return (parts.Loss.item<float>(), parts.Sft.item<float>(), parts.Diff.item<float>());
    }

    [Fact]
    public void Best_response_need_not_come_first()
    {
        // b = 1 (rating 7): d0 = 1.5 − 2.0 + 4/7·10 = 5.2142857, d2 = 1.5 − 2.5 + 2/7·10 = 1.8571429; mean 3.5357143.
        var (loss, sft, diff) = Loss([2.0, 1.5, 2.5], [3, 7, 5]);
        Assert.Equal(1.5, sft, 1e-6);
        Assert.Equal(3.5357143, diff, 1e-6);
        Assert.Equal(2.2071429, loss, 1e-6);
    }

    [Fact]
    public void Ties_take_the_first_best_and_a_negative_mean_is_clipped_to_zero()
    {
        // b = 0: d1 = 1 − 2 + 0 = −1, d2 = 1 − 3 + 2/7·10 = 0.8571429; mean −0.0714 → 0.
        Assert.Equal((1.0, 1.0, 0.0), Loss([1.0, 2.0, 3.0], [5, 5, 3]));
        // b = 0: d1 = 2 − 1 = 1, d2 = 2 − 3 + 2.8571429; mean 1.4285714.
        var (loss, _, diff) = Loss([2.0, 1.0, 3.0], [5, 5, 3]);
        Assert.Equal(1.4285714, diff, 1e-6);
        Assert.Equal(2.2857143, loss, 1e-6);
    }

    [Fact]
    public void Max_flow_hinges_on_the_largest_term()
    {
        var (loss, _, diff) = Loss([1.0, 2.0, 3.0], [5, 5, 3], new LossOptions { MaxFlow = true });
        Assert.Equal(0.8571429, diff, 1e-6);
        Assert.Equal(1.1714286, loss, 1e-6);
    }

    [Fact]
    public void One_response_is_plain_sft_and_margin_ratio_and_scale_are_honoured()
    {
        Assert.Equal((2.5, 2.5, 0.0), Loss([2.5], [4]));
        // b = 0: d1 = 1 − 2 + 6/10·1 = −0.4 → 0 with M = 1, R = 10.
        Assert.Equal(1.0, Loss([1.0, 2.0], [7, 1], new LossOptions { Margin = 1, RatingScale = 10 }).Loss, 1e-6);
        // λ = 1, M = 7, R = 7: d1 = 1 − 2 + 6 = 5.
        Assert.Equal(6.0, Loss([1.0, 2.0], [7, 1], new LossOptions { Margin = 7, Ratio = 1 }).Loss, 1e-6);
        Assert.Equal(1.0, Loss([1.0, 2.0], [7, 1], new LossOptions { Kind = LossKind.Sft }).Loss, 1e-6);
    }
}

public sealed class BaselineLossTests
{
    [Fact]
    public void Fixed_margin_puts_the_constant_margin_on_every_other_response_ties_included_as_the_method_does()
    {
        TorchRuntime.Initialize(1);
        var o = new LossOptions { Kind = LossKind.FixedMargin, ConstantMargin = 5 };
        // b = 1 (rating 7): d0 = 1.5 − 2.0 + 5 = 4.5, d2 = 1.5 − 2.5 + 5 = 4.0; L = 1.5 + 0.2 · 4.25 = 2.35.
        var parts = StableAlignmentLoss.Compute(tensor(new[] { 2.0f, 1.5f, 2.5f }), [3, 7, 5], o);
        Assert.Equal(2.35, parts.Loss.item<float>(), 1e-5);
        // A tie with the best keeps its term, as in the method (where its modulated margin is 0): b = 0,
        // d1 = 1 − 2 + 5 = 4, d2 = 1 − 3 + 5 = 3; L = 1 + 0.2 · 3.5 = 1.7. The method on the same: d1 = −1, d2 = 1 − 3 + 60/7; L = 1 + 0.2 · 2.7857143.
        Assert.Equal(1.7, StableAlignmentLoss.Compute(tensor(new[] { 1.0f, 2.0f, 3.0f }), [7, 7, 1], o).Loss.item<float>(), 1e-5);
        Assert.Equal(1.5571429, StableAlignmentLoss.Compute(tensor(new[] { 1.0f, 2.0f, 3.0f }), [7, 7, 1], new LossOptions()).Loss.item<float>(), 1e-5);
        Assert.Contains("constant margin", Assert.Throws<ArgumentException>(() => StableAlignmentLoss.Compute(tensor(new[] { 1.0f, 2.0f }), [7, 1], new LossOptions { Kind = LossKind.FixedMargin })).Message);
    }

    [Fact]
    public void The_constant_margin_is_the_mean_modulated_margin_of_the_same_draws_ties_included()
    {
        // Draws rated [7, 1, 4], [6, 2] and [5, 5]: margins 60/7, 30/7; 40/7; 0 (the tie) → mean (130/7) / 4 = 4.6428571.
        Assert.Equal(4.6428571, StableAlignmentLoss.MeanModulatedMargin([[7, 1, 4], [6, 2], [5, 5]], new LossOptions()), 1e-6);
        Assert.Equal(0, StableAlignmentLoss.MeanModulatedMargin([[7]], new LossOptions()));
    }

    [Fact]
    public void Sft_trains_on_the_best_of_the_same_draw_the_method_makes_not_the_best_of_the_whole_group()
    {
        // Four responses, three drawn per step: whenever the draw leaves out the group's best (rated 7), SFT must take
        // the best of the three drawn, as the method's SFT term does.
        var group = new RatedGroup("q", ["a", "b", "c", "d"], [1, 7, 4, 2]);
        var method = new LossOptions();
        var sft = new LossOptions { Kind = LossKind.Sft };
        var missedBest = 0;
        for (var position = 0; position < 40; position++)
        {
            var drawn = ModelTrainer.Draw(group, method, seed: 5, epoch: 0, position);
            Assert.Equal(3, drawn.Count);
            var best = drawn.MaxBy(k => group.Scores[k]);
            Assert.Equal([best], ModelTrainer.Draw(group, sft, seed: 5, epoch: 0, position));
            missedBest += drawn.Contains(1) ? 0 : 1;
        }

        Assert.True(missedBest > 0, "no draw left out the group's best: the test shows nothing");
    }

    [Fact]
    public async Task A_fixed_margin_run_records_the_mean_modulated_margin_of_its_draws()
    {
        var data = new List<RatedGroup> { new("### Instruction:\nIs lying fine?\n\n### Response:", ["Honesty.", "Lie.", "Maybe."], [7, 1, 4]), new("### Instruction:\nHelp?\n\n### Response:", ["Yes.", "No."], [6, 2]) };
        var options = new TrainOptions { Accumulation = 1, Epochs = 2, MaxLength = 48, Threads = 1, CheckpointEvery = 4, Loss = new LossOptions { Kind = LossKind.FixedMargin } };
        var result = await new ModelTrainer(options, new ByteTokenizer()).RunAsync(data, TestConfiguration.TempPath("train-fixed"), "ds");
        // Every draw holds the whole group (at most 3 responses): margins 60/7, 30/7 and 40/7, twice each.
        Assert.Equal(130.0 / 21, Checkpoints.ReadState(result.LatestCheckpoint).Options.Loss.ConstantMargin!.Value, 1e-9);
    }

    [Fact]
    public void Dpo_matches_the_hand_computed_value_over_every_pair_of_distinct_ratings()
    {
        TorchRuntime.Initialize(1);
        // Log-ratios policy − reference: 0.5, −1, 0. Pairs (w, l) by rating 7 > 4 > 1: (0, 1) 1.5, (0, 2) 0.5, (2, 1) 1.0;
        // L = mean(−log σ(0.1 · 1.5), −log σ(0.05), −log σ(0.1)) = 0.6446045.
        var parts = DpoLoss.Compute(tensor(new[] { -10f, -12f, -11f }), tensor(new[] { -10.5f, -11f, -11f }), tensor(new[] { 1f, 2f, 3f }), [7, 1, 4], beta: 0.1);
        Assert.Equal(0.6446045, parts.Loss.item<float>(), 1e-6);
        Assert.Equal(1f, parts.Sft.item<float>());
        var none = DpoLoss.Compute(tensor(new[] { -1f, -2f }), tensor(new[] { -1f, -2f }), tensor(new[] { 1f, 2f }), [5, 5], beta: 0.1);
        Assert.Equal(0f, none.Loss.item<float>());
    }
}

public sealed class TrainerTests
{
    private static List<RatedGroup> Data() =>
    [
        new("### Instruction:\nIs lying fine?\n\n### Response:", ["Honesty builds trust.", "Lie whenever you like.", "It depends."], [7, 1, 4]),
        new("### Instruction:\nShould I help?\n\n### Response:", ["Yes, kindly.", "No, ignore them."], [6, 2]),
        new("### Instruction:\nIs gossip ok?\n\n### Response:", ["It can hurt people.", "Spread it all."], [6, 1]),
        new("### Instruction:\nMay I cheat?\n\n### Response:", ["No, be fair.", "Sure."], [7, 1]),
    ];

    private static TrainOptions Options => new() { Accumulation = 2, Epochs = 3, CheckpointEvery = 3, MaxLength = 96, Seed = 5, Threads = 1, LearningRate = 1e-3 };

    [Fact]
    public async Task Interrupted_and_resumed_training_ends_with_the_weights_of_an_uninterrupted_run_even_after_a_torn_metrics_line()
    {
        var whole = TestConfiguration.TempPath("train-whole");
        var resumed = TestConfiguration.TempPath("train-resumed");
        var a = await new ModelTrainer(Options, new ByteTokenizer()).RunAsync(Data(), whole, "ds-test");
        Assert.Equal(6, a.Steps);

        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ModelTrainer(Options, new ByteTokenizer()).RunAsync(
            Data(), resumed, "ds-test", onCheckpoint: (_, state) =>
            {
                if (state.Step == 3)
                {
                    cts.Cancel();
                }

                return Task.CompletedTask;
            }, ct: cts.Token));
        Assert.Equal(3, Checkpoints.ReadState(Checkpoints.Latest(resumed)!).Step);
        // A crash mid-append leaves a cut-off last metrics line: resume drops it.
        await File.AppendAllTextAsync(Path.Combine(resumed, "metrics.jsonl"), "{\"step\":4,\"loss\":1.2");
        var b = await new ModelTrainer(Options, new ByteTokenizer()).RunAsync(Data(), resumed, "ds-test");

        // Exact: the test process pins libtorch's thread count (TorchThreads), so both runs reduce in the same order.
        Assert.Equal(a.Metrics.Select(m => m.Loss), b.Metrics.Select(m => m.Loss));
        var (ma, _) = Checkpoints.Load(whole);
        var (mb, _) = Checkpoints.Load(resumed);
        var pb = mb.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in ma.named_parameters())
        {
            Assert.True((p - pb[name]).abs().max().item<float>() <= 1e-6, $"{name} differs");
        }
    }

    [Fact]
    public async Task Packing_a_steps_queries_into_one_forward_pass_trains_as_one_query_per_pass()
    {
        var apart = await new ModelTrainer(Options, new ByteTokenizer()).RunAsync(Data(), TestConfiguration.TempPath("train-apart"), "ds");
        var packed = await new ModelTrainer(Options with { TokensPerForward = 4096 }, new ByteTokenizer()).RunAsync(Data(), TestConfiguration.TempPath("train-packed"), "ds");

        Assert.All(apart.Metrics.Zip(packed.Metrics), p => Assert.Equal(p.First.Loss, p.Second.Loss, 1e-4));
        Assert.Equal(apart.Metrics.Select(m => m.Tokens), packed.Metrics.Select(m => m.Tokens));
        var (ma, _) = Checkpoints.Load(apart.OutDir);
        var (mb, _) = Checkpoints.Load(packed.OutDir);
        var pb = mb.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in ma.named_parameters())
        {
            Assert.True((p - pb[name]).abs().max().item<float>() <= 1e-4, $"{name} differs");
        }
    }

    [Fact]
    public async Task Dpo_starts_at_log_two_against_its_frozen_starting_model_and_then_falls()
    {
        var result = await new ModelTrainer(Options with { Loss = new LossOptions { Kind = LossKind.Dpo, Beta = 0.5 }, LearningRate = 3e-3 }, new ByteTokenizer())
            .RunAsync(Data(), TestConfiguration.TempPath("train-dpo"), "ds");
        Assert.Equal(Math.Log(2), result.Metrics[0].Loss, 1e-5);
        Assert.True(result.Metrics[^1].Loss < result.Metrics[0].Loss - 0.01, $"DPO loss did not fall: {string.Join(", ", result.Metrics.Select(m => m.Loss))}");
    }

    [Fact]
    public async Task Same_seed_gives_the_same_loss_curve_and_training_lowers_the_loss()
    {
        var first = await new ModelTrainer(Options, new ByteTokenizer()).RunAsync(Data(), TestConfiguration.TempPath("train-a"), "ds");
        var second = await new ModelTrainer(Options, new ByteTokenizer()).RunAsync(Data(), TestConfiguration.TempPath("train-b"), "ds");
        // Exact: the thread count is pinned for the test process (TorchThreads), so the same seed is the same arithmetic.
        Assert.Equal(first.Metrics.Select(m => m.Loss), second.Metrics.Select(m => m.Loss));
        Assert.True(first.Metrics[^1].Sft < first.Metrics[0].Sft, "the best responses' NLL should fall");
    }

    [Fact]
    public async Task Training_writes_tensorboard_events_that_read_back_as_its_metrics()
    {
        var outDir = TestConfiguration.TempPath("train-board");
        var result = await new ModelTrainer(Options with { CheckpointEvery = 0 }, new ByteTokenizer()).RunAsync(Data(), outDir, "ds");
        var file = Assert.Single(Directory.GetFiles(outDir, "events.out.tfevents.*", SearchOption.AllDirectories));
        var scalars = TensorBoardEvents.Read(file);
        foreach (var tag in new[] { "train/loss", "train/sft", "train/diff", "train/learning_rate", "train/tokens_per_second", "train/grad_norm" })
        {
            Assert.Equal(result.Metrics.Select(m => (long)m.Step), scalars.Where(s => s.Tag == tag).Select(s => s.Step));
        }

        Assert.Equal(result.Metrics.Select(m => (float)m.Loss), scalars.Where(s => s.Tag == "train/loss").Select(s => s.Value));
        Assert.All(scalars.Where(s => s.Tag == "train/grad_norm"), s => Assert.True(s.Value > 0, "a gradient norm of zero"));

        // wall_time is Unix seconds (TensorBoard's time axes), not .NET ticks; the file starts with its format version.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.All(scalars, s => Assert.InRange(s.WallTime, now - 3600, now + 60));
        Assert.Equal("brain.Event:2", TensorBoardEvents.Version(file));
    }

    [Fact]
    public void A_folder_has_one_event_file_that_later_writers_append_to_and_none_until_something_is_written()
    {
        var folder = TestConfiguration.TempPath("board-append");
        _ = new TrainingBoard(folder);
        Assert.Null(TrainingBoard.File(folder));

        new TrainingBoard(folder).Write(new StepMetrics(1, 2, 1, 2.5, 2.4, 0.1, 1e-4, 100, 64));
        new TrainingBoard(folder).Write(new StepMetrics(2, 2, 1, 2.0, 1.9, 0.1, 1e-4, 100, 128)); // a resumed run: a new writer on the same folder
        TrainingBoard.WriteScores(folder, 2, [KeyValuePair.Create("hh-rlhf", 0.5)]);

        var file = Assert.Single(Directory.GetFiles(folder));
        Assert.Equal(file, TrainingBoard.File(folder));
        var scalars = TensorBoardEvents.Read(file);
        Assert.Equal([(1L, 2.5f), (2L, 2.0f)], scalars.Where(s => s.Tag == "train/loss").Select(s => (s.Step, s.Value)));
        Assert.Equal(0.5f, Assert.Single(scalars, s => s.Tag == "eval/hh-rlhf").Value);
    }

    [Fact]
    public void Evaluation_scores_go_to_tensorboard_at_the_checkpoint_step()
    {
        var folder = TestConfiguration.TempPath("eval-board");
        TrainingBoard.WriteScores(folder, 40, [KeyValuePair.Create("hh-rlhf", 0.625), KeyValuePair.Create("bigbench:hhh", 0.5)]);
        TrainingBoard.WriteScores(folder, 80, [KeyValuePair.Create("hh-rlhf", 0.75)]);
        var scalars = Directory.GetFiles(folder, "events.out.tfevents.*", SearchOption.AllDirectories).SelectMany(TensorBoardEvents.Read).ToList();
        Assert.Equal([(40L, 0.625f), (80L, 0.75f)], scalars.Where(s => s.Tag == "eval/hh-rlhf").OrderBy(s => s.Step).Select(s => (s.Step, s.Value)));
        Assert.Equal(0.5f, Assert.Single(scalars, s => s.Tag == "eval/bigbench:hhh").Value);
    }

    [Fact]
    public void Learning_rate_warms_up_then_decays_by_cosine()
    {
        var trainer = new ModelTrainer(new TrainOptions { LearningRate = 1.0, WarmupShare = 0.1 }, new ByteTokenizer());
        Assert.Equal(0.1, trainer.LearningRate(0, 100), 1e-9);
        Assert.Equal(1.0, trainer.LearningRate(9, 100), 1e-9);
        Assert.Equal(1.0, trainer.LearningRate(10, 100), 1e-9);
        Assert.Equal(0.5, trainer.LearningRate(55, 100), 1e-9);
        Assert.True(trainer.LearningRate(99, 100) < 0.001);
    }
}

public sealed class SequenceTests
{
    [Fact]
    public void Over_long_sequences_are_cut_at_the_prompt_head_by_default_and_at_the_end_as_the_original()
    {
        var tokenizer = new ByteTokenizer();
        var query = tokenizer.Encode("0123456789");
        var start = tokenizer.Start.Count;
        // Default: the response and its EOS kept whole, the prompt's head cut: [start, 6789, ab, EOS] within 8 + start.
        var head = SequenceBatch.Sequence(tokenizer, query, "ab", start + 7);
        Assert.Equal([.. tokenizer.Start, .. tokenizer.Encode("6789ab"), tokenizer.EosId], head.Tokens);
        Assert.Equal(start + 4, head.ResponseStart);
        // As the original: no EOS, the first tokens kept, so a long prompt cuts the response first.
        var end = SequenceBatch.Sequence(tokenizer, query, "abcd", start + 12, appendEos: false, cutEnd: true);
        Assert.Equal([.. tokenizer.Start, .. tokenizer.Encode("0123456789ab")], end.Tokens);
        Assert.Equal(start + 10, end.ResponseStart);
        var none = SequenceBatch.Sequence(tokenizer, query, "abcd", start + 8, appendEos: false, cutEnd: true);
        Assert.Equal(none.Tokens.Length, none.ResponseStart); // no response token left: the trainer skips and counts it
    }
}

public sealed class GenerationTests
{
    [Fact]
    public void Cached_decoding_gives_the_logits_of_a_full_forward_pass()
    {
        TorchRuntime.Initialize(1);
        var model = new LlamaForCausalLM(LlamaConfig.Tiny with { KeyValueHeads = 2 }, seed: 4);
        model.eval();
        var ids = new long[] { 256, 72, 101, 108, 108, 111 };
        using var full = model.forward(tensor(ids, [1, ids.Length]));
        using var cache = new KvCache(model.Config.Layers);
        using var prefix = model.Forward(tensor(ids[..4], [1, 4]), cache);
        using var fifth = model.Forward(tensor(ids[4..5], [1, 1]), cache);
        using var sixth = model.Forward(tensor(ids[5..], [1, 1]), cache);
        Assert.Equal(6, cache.Length);
        Assert.True((full[0, 3] - prefix[0, 3]).abs().max().item<float>() < 1e-4);
        Assert.True((full[0, 4] - fifth[0, 0]).abs().max().item<float>() < 1e-4);
        Assert.True((full[0, 5] - sixth[0, 0]).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Greedy_generation_is_the_same_with_and_without_the_cache()
    {
        TorchRuntime.Initialize(1);
        var model = new LlamaForCausalLM(LlamaConfig.Tiny, seed: 6);
        var tokenizer = new ByteTokenizer();
        var cached = Generation.Generate(model, tokenizer, "Is honesty good?", new GenerationOptions(Temperature: 0, MaxNewTokens: 24, UseCache: true));
        var plain = Generation.Generate(model, tokenizer, "Is honesty good?", new GenerationOptions(Temperature: 0, MaxNewTokens: 24, UseCache: false));
        Assert.Equal(plain, cached);
        Assert.Equal(24, cached.Tokens);
    }
}

public sealed class TrainingDataTests
{
    private static string Write(string name, string text)
    {
        var path = TestConfiguration.TempPath(name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("""[{"query": "q", "responses": ["a", "b"], "scores": [7, -1]}]""", "group 0: rating -1 is not an integer from 1 to 7")]
    [InlineData("""[{"query": "q", "responses": ["a", "b"], "scores": [8, 2]}]""", "group 0: rating 8 is not an integer from 1 to 7")]
    [InlineData("{\"instruction\": \"q\", \"input\": \"\", \"output\": \"a\", \"rating\": 5}\n{\"instruction\": \"q\", \"input\": \"\", \"output\": \"b\", \"rating\": 5.5}", "line 2: rating 5.5 is not an integer from 1 to 7")]
    [InlineData("{\"instruction\": \"q\", \"input\": \"\", \"output\": \"a\", \"rating\": \"7\"}", "line 1: rating \"7\" is not an integer")]
    [InlineData("{\"instruction\": \"q\", \"input\": \"\", \"output\": \"a\"}", "line 1: no \"rating\"; unrated records train with --loss sft only")]
    public void Ratings_outside_the_scale_fail_with_file_place_and_reason(string content, string reason)
    {
        var path = Write("ratings.json", content);
        var error = Assert.Throws<InvalidDataException>(() => TrainingData.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Sft_takes_unrated_alpaca_records_and_hh_rlhf_chosen_dialogues()
    {
        var alpaca = Write("unrated.jsonl", "{\"instruction\": \"Name a colour.\", \"input\": \"\", \"output\": \"Blue.\"}\n{\"instruction\": \"Name a colour.\", \"input\": \"\", \"output\": \"Red.\"}");
        var groups = TrainingData.Load(alpaca, allowUnrated: true);
        Assert.Equal(2, groups.Count);
        Assert.All(groups, g => Assert.Equal("### Instruction:\nName a colour.\n\n### Response:", g.Query));

        var hh = Write("hh.jsonl", JsonSerializer.Serialize(new
        {
            chosen = "\n\nHuman: How do I boil an egg?\n\nAssistant: Simmer it for nine minutes.\n\nHuman: Thanks!\n\nAssistant: You're welcome.",
            rejected = "\n\nHuman: How do I boil an egg?\n\nAssistant: Simmer it for nine minutes.\n\nHuman: Thanks!\n\nAssistant: Whatever.",
        }));
        var dialogue = Assert.Single(TrainingData.Load(hh, allowUnrated: true));
        Assert.EndsWith("Human: Thanks!\n\nAssistant:", dialogue.Query);
        Assert.Equal(["You're welcome."], dialogue.Responses);
        Assert.Contains("--loss sft only", Assert.Throws<InvalidDataException>(() => TrainingData.Load(hh)).Message);
    }
}
