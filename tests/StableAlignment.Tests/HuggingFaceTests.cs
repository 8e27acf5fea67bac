using static TorchSharp.torch;

namespace StableAlignment.Tests;

/// <summary>Golden files made by Hugging Face's own libraries (tests/data/hf-golden, provenance in its README).</summary>
internal static class Golden
{
    public static string Folder(string name) => RepositoryRoot.Combine("tests", "data", "hf-golden", name);

    public static JsonNode Line(string family, int index) => JsonNode.Parse(File.ReadLines(Path.Combine(Folder(family), "golden.jsonl")).ElementAt(index))!;

    public static IEnumerable<string> Texts(string family) =>
        File.ReadLines(Path.Combine(Folder(family), "golden.jsonl")).Select(l => JsonNode.Parse(l)!["text"]!.GetValue<string>());

    /// <summary>A copy of a golden model folder with the byte tokenizer as its tokenizer.json (259 ids fit its 320).</summary>
    public static string ModelWithByteTokenizer(string name)
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath(name)).FullName;
        foreach (var file in Directory.GetFiles(Folder(name)))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        new ByteTokenizer().WriteTo(folder);
        return folder;
    }

    public static float MaxDifference(Tensor a, Tensor b) => (a - b).abs().max().item<float>();
}

public sealed class TokenizerParityTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var family in new[] { "gpt2-bytelevel", "llama-metaspace-bytefallback", "qwen2-split-bytelevel" })
        {
            for (var i = 0; i < Golden.Texts(family).Count(); i++)
            {
                data.Add(family, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Ids_tokens_and_decoding_match_hugging_face_tokenizers(string family, int line)
    {
        var golden = Golden.Line(family, line);
        var text = golden["text"]!.GetValue<string>();
        var expected = golden["ids"]!.AsArray().Select(i => i!.GetValue<int>()).ToArray();
        var tokenizer = new HuggingFaceTokenizer(Golden.Folder(family));

        var ids = tokenizer.Start.Concat(tokenizer.Encode(text)).ToArray();

        Assert.Equal(expected, ids);
        Assert.Equal(golden["tokens"]!.AsArray().Select(t => t!.GetValue<string>()), ids.Select(tokenizer.TokenText));
        Assert.Equal(golden["decoded"]!.GetValue<string>(), tokenizer.Decode(expected));
        if (golden["decoded"]!.GetValue<string>() == text)
        {
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    [Fact]
    public void Spaces_are_kept_the_gpt2_way()
    {
        var tokenizer = new HuggingFaceTokenizer(Golden.Folder("gpt2-bytelevel"));
        var ids = tokenizer.Encode("hello hello");
        Assert.NotEqual(ids[..3], ids[3..]);
        Assert.Equal("Ġhe", tokenizer.TokenText(ids[3]));
        Assert.Equal("hello hello", tokenizer.Decode(ids));
    }

    [Fact]
    public void Special_tokens_and_sequence_start_follow_each_family()
    {
        var llama = new HuggingFaceTokenizer(Golden.Folder("llama-metaspace-bytefallback"));
        Assert.Equal([1], llama.Start);
        Assert.Equal((1, 2), (llama.BosId, llama.EosId));
        var qwen = new HuggingFaceTokenizer(Golden.Folder("qwen2-split-bytelevel"));
        Assert.Empty(qwen.Start);
        Assert.Null(qwen.BosId);
        Assert.Equal("<|endoftext|>", qwen.TokenText(qwen.EosId));
    }

    [Fact]
    public void Byte_tokenizer_written_as_tokenizer_json_encodes_like_the_byte_tokenizer()
    {
        var folder = TestConfiguration.TempPath("byte-tokenizer");
        var bytes = new ByteTokenizer();
        bytes.WriteTo(folder);
        var viaHuggingFace = new HuggingFaceTokenizer(folder);

        Assert.Equal(bytes.Start, viaHuggingFace.Start);
        Assert.Equal((bytes.BosId, bytes.EosId, bytes.PadId, bytes.VocabularySize), (viaHuggingFace.BosId, viaHuggingFace.EosId, viaHuggingFace.PadId, viaHuggingFace.VocabularySize));
        foreach (var text in Golden.Texts("gpt2-bytelevel").Concat(Golden.Texts("llama-metaspace-bytefallback")))
        {
            Assert.Equal(bytes.Encode(text), viaHuggingFace.Encode(text));
            Assert.Equal(text, viaHuggingFace.Decode(bytes.Encode(text)));
        }

        Assert.All(Enumerable.Range(0, 259), id => Assert.Equal(bytes.TokenText(id), viaHuggingFace.TokenText(id)));
        Assert.IsType<ByteTokenizer>(Checkpoints.TokenizerFor(folder));
    }

    [Fact]
    public void A_broken_tokenizer_file_is_refused_with_its_path()
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("bad-tokenizer")).FullName;
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), """{"model": {"type": "BPE", "vocab": 3}}""");
        var error = Assert.Throws<InvalidDataException>(() => new HuggingFaceTokenizer(folder));
        Assert.Contains(Path.Combine(folder, "tokenizer.json"), error.Message);
        var none = TestConfiguration.TempPath("none");
        Assert.Contains(none, Assert.Throws<FileNotFoundException>(() => new HuggingFaceTokenizer(none)).Message);
    }
}

public sealed class HuggingFaceModelTests
{
    [Theory]
    [InlineData("hf-tiny-llama")]
    [InlineData("hf-tiny-mistral")]
    [InlineData("hf-tiny-qwen2")]
    public void A_model_saved_by_transformers_gives_its_logits_here(string name)
    {
        TorchRuntime.Initialize(1);
        var golden = JsonNode.Parse(File.ReadAllText(Path.Combine(Golden.Folder(name), "golden_logits.json")))!;
        var ids = golden["input_ids"]!.AsArray().Select(i => i!.GetValue<long>()).ToArray();
        var rows = golden["logits"]!.AsArray().SelectMany(r => r!.AsArray().Select(v => v!.GetValue<float>())).ToArray();
        using var expected = tensor(rows, [ids.Length, rows.Length / ids.Length]);

        using var model = HuggingFace.Load(Golden.Folder(name));
        model.eval();
        using var logits = model.forward(tensor(ids, [1, ids.Length]))[0];

        Assert.True(Golden.MaxDifference(logits, expected) < 1e-4, $"max |Δ| = {Golden.MaxDifference(logits, expected)}");
    }

    [Fact]
    public void Qwen2_settings_are_read_from_the_transformers_5_config()
    {
        var config = HuggingFace.ReadConfig(Golden.Folder("hf-tiny-qwen2"));
        Assert.Equal(ModelArchitecture.Qwen2, config.Architecture);
        Assert.True(config.AttentionBias);
        Assert.False(config.TieEmbeddings);
        Assert.Equal(1e6, config.RopeTheta);
        Assert.Null(config.BosTokenId);
        Assert.True(HuggingFace.ReadConfig(Golden.Folder("hf-tiny-llama")).TieEmbeddings);
    }

    [Theory]
    [InlineData("hf-tiny-qwen2")]
    [InlineData("hf-tiny-llama")]
    public async Task A_fine_tuned_folder_exports_and_loads_back_with_identical_logits(string name)
    {
        var folder = Golden.ModelWithByteTokenizer(name);
        var tokenizer = Checkpoints.TokenizerFor(folder);
        var data = new List<RatedGroup> { new("Is lying fine?", ["Honesty builds trust.", "Lie freely."], [7, 1]), new("Help a friend?", ["Yes, gladly.", "No."], [6, 2]) };
        var result = await new ModelTrainer(new TrainOptions { Base = folder, Accumulation = 1, Epochs = 1, Threads = 1, MaxLength = 32, LearningRate = 1e-2 }, tokenizer)
            .RunAsync(data, TestConfiguration.TempPath("hf-train"), "ds");
        using var input = tensor(new long[] { 256, 72, 105, 33, 10 }, [1, 5]);
        using var trained = Checkpoints.LoadModel(result.OutDir);
        using var original = HuggingFace.Load(folder);
        using var trainedLogits = trained.forward(input);
        Assert.True(Golden.MaxDifference(trainedLogits, original.forward(input)) > 1e-3, "training changed nothing");

        var export = TestConfiguration.TempPath("hf-export");
        HuggingFace.Save(trained, tokenizer, export);
        using var reloaded = HuggingFace.Load(export);

        Assert.Equal(0, Golden.MaxDifference(trainedLogits, reloaded.forward(input)));
        Assert.Equal(
            ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"],
            Directory.GetFiles(export).Select(Path.GetFileName).Order());
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(export, "config.json")))!;
        Assert.Equal(name == "hf-tiny-qwen2" ? "qwen2" : "llama", config["model_type"]!.GetValue<string>());
        var header = SafetensorsFile.ReadHeader(Path.Combine(export, "model.safetensors"));
        Assert.Equal(name == "hf-tiny-qwen2", header.ContainsKey("lm_head.weight"));
        Assert.Equal(name == "hf-tiny-qwen2", header.ContainsKey("model.layers.1.self_attn.k_proj.bias"));
        Assert.False(header.ContainsKey("model.layers.1.self_attn.o_proj.bias")); // Qwen2's biases are on q, k and v only

        // transformers 5 reads dtype and version 4 torch_dtype; the tokenizer's length is the model's context.
        Assert.Equal("float32", config["dtype"]!.GetValue<string>());
        Assert.Equal("float32", config["torch_dtype"]!.GetValue<string>());
        Assert.Equal(JsonNode.Parse(File.ReadAllText(Path.Combine(Golden.Folder(name), "config.json")))!["transformers_version"]!.GetValue<string>(), config["transformers_version"]!.GetValue<string>());
        var tokenizerConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(export, "tokenizer_config.json")))!;
        Assert.Equal(config["max_position_embeddings"]!.GetValue<int>(), tokenizerConfig["model_max_length"]!.GetValue<int>());
    }

    [Fact]
    public void A_llama_with_attention_bias_has_a_bias_on_o_proj_too_and_it_is_saved_and_loaded()
    {
        using var model = new LlamaForCausalLM(LlamaConfig.Tiny with { AttentionBias = true }, seed: 4);
        var folder = TestConfiguration.TempPath("llama-attention-bias");
        HuggingFace.Save(model, new ByteTokenizer(), folder);
        var header = SafetensorsFile.ReadHeader(Path.Combine(folder, "model.safetensors"));
        foreach (var projection in new[] { "q_proj", "k_proj", "v_proj", "o_proj" })
        {
            Assert.True(header.ContainsKey($"model.layers.0.self_attn.{projection}.bias"), $"{projection}.bias is missing");
        }

        Assert.True(JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!["attention_bias"]!.GetValue<bool>());
        using var reloaded = HuggingFace.Load(folder);
        using var input = tensor(new long[] { 256, 72, 105, 33, 10 }, [1, 5]);
        Assert.Equal(0, Golden.MaxDifference(model.forward(input), reloaded.forward(input)));
        Assert.Equal(model.parameters().Sum(p => p.numel()), model.Config.ParameterCount());
    }

    [Fact]
    public void An_unknown_or_missing_tensor_is_named()
    {
        TorchRuntime.Initialize(1);
        var folder = Golden.ModelWithByteTokenizer("hf-tiny-llama");
        var weights = Path.Combine(folder, "model.safetensors");
        var tensors = SafetensorsFile.Load(weights);
        tensors["model.layers.0.self_attn.q_proj.bias"] = zeros(64);
        File.Delete(weights);
        SafetensorsFile.Save(weights, tensors);
        Assert.Contains("'model.layers.0.self_attn.q_proj.bias'", Assert.Throws<InvalidDataException>(() => HuggingFace.Load(folder)).Message);

        tensors.Remove("model.layers.0.self_attn.q_proj.bias");
        tensors.Remove("model.norm.weight");
        File.Delete(weights);
        SafetensorsFile.Save(weights, tensors);
        Assert.Contains("'model.norm.weight'", Assert.Throws<InvalidDataException>(() => HuggingFace.Load(folder)).Message);
    }

    [Theory]
    [InlineData("""{"model_type": "gpt2"}""", "gpt2")]
    [InlineData("""{"model_type": "llama", "vocab_size": 320, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}}""", "llama3")]
    public void Unsupported_configs_are_refused_with_the_reason(string json, string reason)
    {
        var folder = Golden.ModelWithByteTokenizer("hf-tiny-llama");
        File.WriteAllText(Path.Combine(folder, "config.json"), json);
        Assert.Contains(reason, Assert.Throws<NotSupportedException>(() => HuggingFace.Load(folder)).Message);
    }
}
