using StableAlignment.ModelServer;
using static TorchSharp.torch;

namespace StableAlignment.Tests;

/// <summary>
/// LoRA on the golden folders written by transformers: only the adapters train, the checkpoints hold them and name the
/// base, resume restores them exactly, and the PEFT folder merged by hand (W + B·A·alpha/r, plain loops over the files'
/// floats) is the merged export.
/// </summary>
public sealed class LoraTests(ITestOutputHelper output)
{
    private static readonly List<RatedGroup> Data = SmallRatedGroups.Data;

    private static TrainOptions Options(string folder) => new()
    {
        Base = folder, Lora = new LoraOptions { Rank = 8, Alpha = 16, Dropout = 0.05 }, LearningRate = 1e-2, Accumulation = 1, Epochs = 4, MaxLength = 48,
        Threads = 1, CheckpointEvery = 4, Seed = 5,
    };

    [Theory]
    [InlineData("hf-tiny-qwen2")]
    [InlineData("hf-tiny-llama")]
    public async Task A_lora_run_trains_only_the_adapters_and_its_loss_falls(string name)
    {
        var folder = Golden.ModelWithByteTokenizer(name);
        var result = await new ModelTrainer(Options(folder) with { Epochs = 8 }, Checkpoints.TokenizerFor(folder)).RunAsync(Data, TestConfiguration.TempPath("lora-" + name), "ds");
        output.WriteLine(string.Join(" ", result.Metrics.Select(m => m.Loss.ToString("F3"))));

        var losses = result.Metrics.Select(m => m.Loss).ToList();
        var (first, last) = (losses.Take(4).Average(), losses.TakeLast(4).Average());
        output.WriteLine($"{name}: loss over the first epoch {first:F3}, over the last {last:F3}");
        Assert.True(last < first - 0.1, $"the loss did not fall: first epoch {first:F3}, last {last:F3}");

        // The checkpoint is a PEFT folder: the adapters only, naming the base.
        var checkpoint = result.LatestCheckpoint;
        Assert.False(File.Exists(Path.Combine(checkpoint, "model.safetensors")));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, Lora.ConfigFile)))!;
        Assert.Equal(Path.GetFullPath(folder).TrimEnd('/'), config["base_model_name_or_path"]!.GetValue<string>());
        var header = SafetensorsFile.ReadHeader(Path.Combine(checkpoint, Lora.AdapterFile));
        Assert.Equal(2 * 7 * 2, header.Count);
        Assert.Equal([8L, 64L], header["base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"].Shape);

        // Frozen: every weight without an adapter is the base's, bit for bit; every adapted one moved.
        using var trained = Checkpoints.LoadModel(result.OutDir);
        using var start = HuggingFace.Load(folder);
        var before = start.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (parameter, value) in trained.named_parameters())
        {
            var moved = (value - before[parameter]).abs().max().item<float>();
            var adapted = LoraOptions.AllTargets.Any(t => parameter.EndsWith($".{t}.weight", StringComparison.Ordinal));
            Assert.True(adapted ? moved > 0 : moved == 0, $"{parameter}: moved {moved} (adapted: {adapted})");
        }
    }

    [Fact]
    public async Task Bf16_mixed_lora_keeps_a_bf16_base_and_trains_fp32_adapters()
    {
        var folder = Golden.ModelWithByteTokenizer("hf-tiny-qwen2");
        var trainer = new ModelTrainer(Options(folder) with { Epochs = 8, Precision = "bf16-mixed" }, Checkpoints.TokenizerFor(folder));
        var result = await trainer.RunAsync(Data, TestConfiguration.TempPath("lora-mixed"), "ds");

        var losses = result.Metrics.Select(m => m.Loss).ToList();
        Assert.True(losses.TakeLast(4).Average() < losses.Take(4).Average() - 0.1, string.Join(" ", losses.Select(l => l.ToString("F3"))));
        Assert.All(SafetensorsFile.ReadHeader(Path.Combine(result.LatestCheckpoint, Lora.AdapterFile)).Values, t => Assert.Equal("F32", t.DType));
        var config = HuggingFace.ReadConfig(folder);
        Assert.Equal((config.ParameterCount() * 2) + (new LoraOptions().ParameterCount(config) * 4), trainer.Memory!.Weights);
    }

    [Fact]
    public async Task Resume_restores_the_adapters_and_the_optimiser_exactly()
    {
        var folder = Golden.ModelWithByteTokenizer("hf-tiny-qwen2");
        var tokenizer = Checkpoints.TokenizerFor(folder);
        var options = Options(folder) with { CheckpointEvery = 3, MaxSteps = 9 };
        var whole = await new ModelTrainer(options, tokenizer).RunAsync(Data, TestConfiguration.TempPath("lora-whole"), "ds");

        var resumedDir = TestConfiguration.TempPath("lora-resumed");
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ModelTrainer(options, tokenizer).RunAsync(Data, resumedDir, "ds", onCheckpoint: (_, state) =>
        {
            if (state.Step == 3)
            {
                cts.Cancel();
            }

            return Task.CompletedTask;
        }, ct: cts.Token));
        Assert.Equal(3, Checkpoints.ReadState(Checkpoints.Latest(resumedDir)!).Step);
        var resumed = await new ModelTrainer(options, tokenizer).RunAsync(Data, resumedDir, "ds");

        // Exact: the test process pins libtorch's thread count (TorchThreads), and the dropout masks follow from the
        // seed and the step, so both runs compute the same numbers in the same order.
        Assert.Equal(whole.Metrics.Select(m => m.Loss), resumed.Metrics.Select(m => m.Loss));
        var a = SafetensorsFile.Load(Path.Combine(whole.LatestCheckpoint, Lora.AdapterFile));
        var b = SafetensorsFile.Load(Path.Combine(resumed.LatestCheckpoint, Lora.AdapterFile));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.All(a, t => Assert.True((t.Value - b[t.Key]).abs().max().item<float>() == 0, $"{t.Key} differs after resume"));
        Assert.Contains(a.Values, t => t.abs().max().item<float>() > 0);
    }

    [Fact]
    public async Task Sa_train_with_lora_then_export_adapter_writes_a_peft_folder_whose_hand_merge_is_the_merged_export()
    {
        var work = Directory.CreateDirectory(TestConfiguration.TempPath("lora-cli")).FullName;
        var folder = Golden.ModelWithByteTokenizer("hf-tiny-qwen2");
        var data = Path.Combine(work, "rated.json");
        File.Copy(RepositoryRoot.Combine("examples", "data", "rated.authors.json"), data);
        var training = Path.Combine(work, "train");

        var (exit, stdout, err) = await SaProcess.RunAsync(work, ["train", "--data", data, "--base", folder, "--out", training, "--lora-rank", "8", "--lora-alpha", "32",
            "--lora-targets", "q_proj,v_proj,down_proj", "--epochs", "2", "--accumulation", "1", "--lr", "1e-2", "--max-length", "64", "--threads", "1"]);
        Assert.True(exit == 0, $"train exit {exit}: {err}\n{stdout}");
        Assert.Contains("LoRA r 8, alpha 32", stdout);
        (exit, stdout, err) = await SaProcess.RunAsync(work, ["export", "--checkpoint", training, "--out", Path.Combine(work, "peft"), "--adapter"]);
        Assert.True(exit == 0, $"export --adapter exit {exit}: {err}\n{stdout}");
        (exit, stdout, err) = await SaProcess.RunAsync(work, ["export", "--checkpoint", training, "--out", Path.Combine(work, "merged")]);
        Assert.True(exit == 0, $"export exit {exit}: {err}\n{stdout}");
        Assert.Contains("LoRA adapters merged", stdout);

        var peft = Path.Combine(work, "peft");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(peft, "adapter_config.json")))!;
        Assert.Equal("LORA", config["peft_type"]!.GetValue<string>());
        Assert.Equal(8, config["r"]!.GetValue<int>());
        Assert.Equal(32, config["lora_alpha"]!.GetValue<double>());
        Assert.Equal(["q_proj", "v_proj", "down_proj"], config["target_modules"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(Path.GetFullPath(folder).TrimEnd('/'), config["base_model_name_or_path"]!.GetValue<string>());

        var (r, scale) = (config["r"]!.GetValue<int>(), config["lora_alpha"]!.GetValue<double>() / config["r"]!.GetValue<int>());
        var adapters = Floats(Path.Combine(peft, "adapter_model.safetensors"));
        var baseWeights = Floats(Path.Combine(folder, "model.safetensors"));
        var merged = Floats(Path.Combine(work, "merged", "model.safetensors"));
        Assert.Equal(baseWeights.Keys.Order(), merged.Keys.Order());
        var (adapted, worst) = (0, 0.0);
        foreach (var (name, (shape, w)) in baseWeights)
        {
            var expected = (float[])w.Clone();
            var stem = "base_model.model." + name[..^".weight".Length];
            if (adapters.TryGetValue(stem + ".lora_A.weight", out var a) && adapters.TryGetValue(stem + ".lora_B.weight", out var b))
            {
                // W[o, i] + alpha/r · Σ_k B[o, k]·A[k, i], in double.
                var (rows, cols) = ((int)shape[0], (int)shape[1]);
                Assert.Equal([rows, r], b.Shape.Select(x => (int)x));
                Assert.Equal([r, cols], a.Shape.Select(x => (int)x));
                for (var o = 0; o < rows; o++)
                {
                    for (var i = 0; i < cols; i++)
                    {
                        var sum = 0.0;
                        for (var k = 0; k < r; k++)
                        {
                            sum += (double)b.Values[(o * r) + k] * a.Values[(k * cols) + i];
                        }

                        expected[(o * cols) + i] = (float)(w[(o * cols) + i] + (scale * sum));
                    }
                }

                adapted++;
            }

            worst = Math.Max(worst, expected.Zip(merged[name].Values).Max(p => Math.Abs((double)p.First - p.Second)));
        }

        output.WriteLine($"{adapted} adapted matrices; max |hand merge − merged export| = {worst:g3}");
        Assert.Equal(2 * 3, adapted);
        Assert.True(worst <= 1e-6, $"the hand merge differs from the merged export by {worst}");
    }

    [Fact]
    public async Task Serving_a_lora_checkpoint_merges_it_at_load()
    {
        var folder = Golden.ModelWithByteTokenizer("hf-tiny-llama");
        var result = await new ModelTrainer(Options(folder) with { Epochs = 1 }, Checkpoints.TokenizerFor(folder)).RunAsync(Data, TestConfiguration.TempPath("lora-serve"), "ds");
        var served = ServedModel.Load(result.OutDir);
        Assert.Null(served.Model.LoraOptions);

        // The same numbers as the adapted model the trainer held: the base, then the adapters on top.
        var state = Checkpoints.ReadState(result.LatestCheckpoint);
        using var adapted = Checkpoints.LoadAdapted(result.LatestCheckpoint, state, state.Options.Lora!);
        adapted.eval();
        served.Model.eval();
        using var input = tensor(new long[] { 256, 72, 105, 33, 10 }, [1, 5]);
        using var _ = no_grad();
        Assert.True(Golden.MaxDifference(served.Model.forward(input), adapted.forward(input)) < 1e-5);
        using var plain = HuggingFace.Load(folder);
        Assert.True(Golden.MaxDifference(served.Model.forward(input), plain.forward(input)) > 1e-4, "the served model is the base: adapters lost");
    }

    [Fact]
    public void Lora_settings_are_checked_counted_and_kept_with_the_run()
    {
        Assert.Equal("loraTargets: 'qkv' is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj",
            new TrainOptions { Lora = new LoraOptions { Targets = ["q_proj", "qkv"] } }.Problem());
        Assert.Equal("loraRank: 0 is not in 1–65536", new TrainOptions { Lora = new LoraOptions { Rank = 0 } }.Problem());
        Assert.Equal("loraDropout: 1 is not in [0, 1)", new TrainOptions { Lora = new LoraOptions { Dropout = 1 } }.Problem());

        // Hand count for the golden LLaMA shape (hidden 64, 4 heads of 16, 2 key/value heads, intermediate 128, 2 layers):
        // r · (in + out) per projection: q 64+64, k 64+32, v 64+32, o 64+64, gate 64+128, up 64+128, down 128+64.
        var config = HuggingFace.ReadConfig(Golden.Folder("hf-tiny-llama"));
        Assert.Equal((config.HiddenSize, config.Heads, config.KvHeads, config.IntermediateSize, config.Layers), (64, 4, 2, 128, 2));
        Assert.Equal(2L * 8 * (128 + 96 + 96 + 128 + 192 + 192 + 192), new LoraOptions { Rank = 8 }.ParameterCount(config));
        using var model = new LlamaForCausalLM(config, seed: 1, new LoraOptions { Rank = 8 });
        Assert.Equal(new LoraOptions { Rank = 8 }.ParameterCount(config), model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));

        // LoRA trains the adapters only: no gradients or AdamW state for the frozen base.
        var full = MemoryEstimate.Of(config, new TrainOptions(), "fp32", 256);
        var lora = MemoryEstimate.Of(config, new TrainOptions { Lora = new LoraOptions { Rank = 8 } }, "fp32", 256);
        // Activations: the base's, plus per layer and token each adapter's input (4 bytes) and dropout mask (1 byte) and its
        // rank-wide intermediate: inputs q, k, v, gate, up 64 each, o 64, down 128.
        Assert.Equal(full.Activations + (256L * 2 * ((((5 * 64) + 64 + 128) * 5) + (7 * 8 * 4))), lora.Activations);
        Assert.Equal(new LoraOptions { Rank = 8 }.ParameterCount(config) * 8, lora.Optimizer); // two fp32 moments
        Assert.True(lora.Gradients < full.Gradients / 5);

        var differences = new TrainOptions { Lora = new LoraOptions { Rank = 16 } }.DifferencesFrom(new TrainOptions { Lora = new LoraOptions { Rank = 8 } });
        Assert.Equal(("loraRank", "8", "16"), Assert.Single(differences));
        Assert.Equal(["loraRank", "loraAlpha", "loraDropout", "loraTargets"], new TrainOptions().DifferencesFrom(new TrainOptions { Lora = new LoraOptions() }).Select(d => d.Field));
    }

    /// <summary>A safetensors file's F32 tensors as plain arrays, read without torch.</summary>
    private static Dictionary<string, (long[] Shape, float[] Values)> Floats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var length = BitConverter.ToInt64(bytes, 0);
        var header = JsonNode.Parse(System.Text.Encoding.UTF8.GetString(bytes, 8, (int)length))!.AsObject();
        var tensors = new Dictionary<string, (long[], float[])>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                continue;
            }

            Assert.Equal("F32", node!["dtype"]!.GetValue<string>());
            var offsets = node["data_offsets"]!.AsArray().Select(o => o!.GetValue<long>()).ToArray();
            var values = new float[(offsets[1] - offsets[0]) / 4];
            Buffer.BlockCopy(bytes, (int)(8 + length + offsets[0]), values, 0, values.Length * 4);
            tensors[name] = ([.. node["shape"]!.AsArray().Select(s => s!.GetValue<long>())], values);
        }

        return tensors;
    }
}

/// <summary>Activation recomputation gives the numbers of a run that keeps its activations, with and without LoRA dropout.</summary>
public sealed class GradientCheckpointingTests(ITestOutputHelper output)
{
    private static readonly List<RatedGroup> Data = [.. SmallRatedGroups.Data.Take(3)];

    [Theory]
    [InlineData("full")]
    [InlineData("lora")]
    public async Task Recomputing_each_layer_trains_as_keeping_its_activations(string mode)
    {
        var folder = Golden.ModelWithByteTokenizer("hf-tiny-llama");
        var options = new TrainOptions
        {
            Base = folder, LearningRate = 1e-2, Accumulation = 2, Epochs = 4, MaxLength = 48, Threads = 1, CheckpointEvery = 6, Seed = 2, TokensPerForward = 4096,
            Lora = mode == "lora" ? new LoraOptions { Rank = 4, Dropout = 0.2 } : null,
        };
        var kept = await new ModelTrainer(options, Checkpoints.TokenizerFor(folder)).RunAsync(Data, TestConfiguration.TempPath("ckpt-kept-" + mode), "ds");
        var recomputing = new ModelTrainer(options with { GradientCheckpointing = true }, Checkpoints.TokenizerFor(folder));
        var before = CheckpointedLayer.Recomputed;
        var recomputed = await recomputing.RunAsync(Data, TestConfiguration.TempPath("ckpt-recomputed-" + mode), "ds");
        Assert.True(CheckpointedLayer.Recomputed - before >= recomputed.Steps * 2, "the layers were not recomputed");

        var worstLoss = kept.Metrics.Zip(recomputed.Metrics).Max(p => Math.Abs(p.First.Loss - p.Second.Loss));
        using var a = Checkpoints.LoadModel(kept.OutDir);
        using var b = Checkpoints.LoadModel(recomputed.OutDir);
        var other = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var worstWeight = a.named_parameters().Max(p => (p.parameter - other[p.name]).abs().max().item<float>());
        output.WriteLine($"{mode}: {kept.Steps} steps; max |Δ loss| {worstLoss:g3}, max |Δ weight| {worstWeight:g3}");

        // The recomputation repeats the same operations on the same inputs; only the order in which a parameter's
        // gradient contributions are summed may differ, hence a float tolerance rather than equality.
        Assert.True(kept.Metrics.Select(m => m.Loss).Distinct().Count() > 1);
        Assert.True(worstLoss < 1e-5, $"losses differ by {worstLoss}");
        Assert.True(worstWeight < 1e-5, $"weights differ by {worstWeight}");
        Assert.True(recomputing.Memory!.Activations < MemoryEstimate.Of(HuggingFace.ReadConfig(folder), options, "fp32", recomputing.Memory.TokensPerForward).Activations);
    }
}
