using System.Text.Json;
using System.Text.Json.Nodes;
using StableAlignment.Primitives;
using TorchSharp;
using TorchSharp.Modules;

namespace StableAlignment.Learning;

/// <summary>What a checkpoint folder says about itself (<c>state.json</c>).</summary>
public sealed record CheckpointState
{
    public required int Step { get; init; }
    public required int TotalSteps { get; init; }
    public required LlamaConfig Config { get; init; }
    public required TrainOptions Options { get; init; }
    public required string DatasetId { get; init; }
    public Dictionary<string, double> Metrics { get; init; } = [];
    public DateTime WrittenAt { get; init; }
}

/// <summary>
/// <c>OUT/checkpoints/step-NNNNNN/</c> is a Hugging Face model folder (config.json, model.safetensors, tokenizer.json,
/// tokenizer_config.json, generation_config.json) plus the optimiser state and <c>state.json</c>; transformers, vLLM and
/// Ollama open it as it is, and <c>sa export</c> writes a copy without the training state. <c>OUT/checkpoints/latest</c>
/// names the newest. A checkpoint is written into a temporary folder and renamed into place, and <c>latest</c> is
/// replaced by rename, so a crash mid-write never leaves a corrupt latest checkpoint. The data position and the random
/// draws follow from the step and the seed, so the step is all the loop needs to continue.
/// </summary>
public static class Checkpoints
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string Folder(string outDir) => Path.Combine(outDir, "checkpoints");

    public static string Save(string outDir, LlamaForCausalLM model, OptimizerHelper optimizer, CheckpointState state, ITokenizer tokenizer)
    {
        var root = Directory.CreateDirectory(Folder(outDir)).FullName;
        var name = $"step-{state.Step:D6}";
        var final = Path.Combine(root, name);
        var temp = Path.Combine(root, $".{name}.{Guid.NewGuid():N}.tmp");
        if (model.LoraOptions is { } lora)
        {
            // A LoRA run's checkpoint is a PEFT folder (the adapters, naming the base) with the tokenizer.
            Lora.SaveAdapter(model, lora, state.Options.Base, temp);
            tokenizer.WriteTo(temp);
        }
        else
        {
            HuggingFace.Save(model, tokenizer, temp);
        }

        optimizer.save_state_dict(Path.Combine(temp, "optimizer.bin"));
        File.WriteAllText(Path.Combine(temp, "state.json"), JsonSerializer.Serialize(state, Json));
        // Everything on disk before the folder is renamed into place and named latest: a crash never leaves a
        // "latest" that points at a half-written checkpoint.
        AtomicFile.FlushTree(temp);
        if (Directory.Exists(final))
        {
            Directory.Delete(final, recursive: true);
        }

        Directory.Move(temp, final);
        AtomicFile.FlushFolder(root);
        AtomicFile.WriteAllText(Path.Combine(root, "latest"), name);
        return final;
    }

    /// <summary>The newest complete checkpoint of a training folder (or a checkpoint folder itself); null when none.</summary>
    public static string? Latest(string dir)
    {
        if (File.Exists(Path.Combine(dir, "state.json"))
            && new[] { "model.safetensors", "model.bin", Lora.AdapterFile }.Any(f => File.Exists(Path.Combine(dir, f))))
        {
            return dir;
        }

        var root = Directory.Exists(Folder(dir)) ? Folder(dir) : dir;
        var latest = Path.Combine(root, "latest");
        if (!File.Exists(latest))
        {
            return null;
        }

        var folder = Path.Combine(root, File.ReadAllText(latest).Trim());
        return File.Exists(Path.Combine(folder, "state.json")) ? folder : null;
    }

    public static CheckpointState ReadState(string checkpoint)
    {
        var path = Path.Combine(checkpoint, "state.json");
        try
        {
            return JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty (null).");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: not a readable checkpoint state ({e.Message})", e);
        }
    }

    /// <summary>
    /// The tokenizer for a base: tiny/small and checkpoints without a tokenizer.json use bytes; a Hugging Face folder
    /// or a checkpoint with a tokenizer.json uses that file.
    /// </summary>
    /// <summary>
    /// Refuses a tokenizer that can produce ids the model has no embedding for (an added token beyond config.json's
    /// vocab_size): every prompt containing it would fail inside the model, and with it the other requests decoded in
    /// the same batch. The error names the first such token.
    /// </summary>
    public static void CheckTokenizerFits(ITokenizer tokenizer, LlamaConfig config, string folder)
    {
        if (tokenizer.VocabularySize <= config.VocabSize)
        {
            return;
        }

        var id = Enumerable.Range(config.VocabSize, tokenizer.VocabularySize - config.VocabSize).First(i =>
        {
            try
            {
                _ = tokenizer.TokenText(i);
                return true;
            }
            catch (ArgumentOutOfRangeException)
            {
                return false;
            }
        });
        throw new InvalidDataException($"{folder}: the tokenizer's token {System.Text.Json.JsonSerializer.Serialize(tokenizer.TokenText(id))} has id {id}, "
            + $"beyond the model's vocabulary (config.json vocab_size {config.VocabSize}); the model cannot read it.");
    }

    public static ITokenizer TokenizerFor(string baseOrCheckpoint)
    {
        var folder = Directory.Exists(baseOrCheckpoint) ? Latest(baseOrCheckpoint) ?? baseOrCheckpoint : null;
        return folder is not null && File.Exists(Path.Combine(folder, "tokenizer.json")) && !IsByteTokenizer(folder)
            ? new HuggingFaceTokenizer(folder)
            : new ByteTokenizer();
    }

    /// <summary>
    /// Loads a checkpoint's model for evaluation, serving or export. A LoRA checkpoint's adapters are loaded over its
    /// base and merged into it, so the model returned is always a plain one.
    /// </summary>
    public static (LlamaForCausalLM Model, CheckpointState State) Load(string dir)
    {
        var checkpoint = Latest(dir) ?? throw new DirectoryNotFoundException($"No checkpoint in {dir}.");
        var state = ReadState(checkpoint);
        TorchRuntime.Initialize(state.Options.Threads);
        if (state.Options.Lora is { } lora)
        {
            using var adapted = LoadAdapted(checkpoint, state, lora);
            return (Lora.Merge(adapted), state);
        }

        var model = new LlamaForCausalLM(state.Config);
        LoadWeights(model, checkpoint);
        return (model, state);
    }

    /// <summary>A LoRA checkpoint's model with its adapters (not merged): the base the checkpoint names, then the adapters.</summary>
    public static LlamaForCausalLM LoadAdapted(string checkpoint, CheckpointState state, LoraOptions lora)
    {
        var model = new LlamaForCausalLM(state.Config, state.Options.Seed, lora);
        LoadBase(model, state.Options.Base);
        Lora.LoadAdapter(model, checkpoint);
        return model;
    }

    /// <summary>
    /// The weights of a training base into <paramref name="model"/>: a checkpoint's (a LoRA checkpoint's merged), a
    /// Hugging Face folder's, or, for the presets, the seeded initialisation the model already holds.
    /// </summary>
    public static void LoadBase(LlamaForCausalLM model, string baseModel)
    {
        if (Latest(baseModel) is { } checkpoint)
        {
            LoadWeights(model, checkpoint);
        }
        else if (HuggingFace.IsFolder(baseModel))
        {
            HuggingFace.LoadWeights(model, baseModel);
        }
        else if (baseModel is not ("tiny" or "small"))
        {
            throw new DirectoryNotFoundException($"The base '{baseModel}' is neither a checkpoint nor a Hugging Face model folder (config.json with model.safetensors), nor tiny or small.");
        }
    }

    /// <summary>The model of a training folder, a checkpoint, or a Hugging Face model folder.</summary>
    public static LlamaForCausalLM LoadModel(string path, int threads = 0)
    {
        if (Latest(path) is not null)
        {
            return Load(path).Model;
        }

        if (!HuggingFace.IsFolder(path))
        {
            throw new DirectoryNotFoundException($"{path} is neither a checkpoint nor a Hugging Face model folder (config.json with model.safetensors).");
        }

        TorchRuntime.Initialize(threads);
        return HuggingFace.Load(path);
    }

    /// <summary>A checkpoint's weights: model.safetensors, or model.bin as written by earlier versions.</summary>
    public static void LoadWeights(LlamaForCausalLM model, string checkpoint)
    {
        if (File.Exists(Path.Combine(checkpoint, Lora.AdapterFile)))
        {
            // A LoRA checkpoint as the starting point: its base with the adapters merged in.
            using var merged = Load(checkpoint).Model;
            var weights = merged.state_dict();
            using var _ = torch.no_grad();
            foreach (var (name, target) in model.state_dict().Where(p => !Lora.IsAdapterParameter(p.Key)))
            {
                target.copy_(weights[name]);
            }
        }
        else if (File.Exists(Path.Combine(checkpoint, "model.safetensors")))
        {
            HuggingFace.LoadWeights(model, checkpoint);
        }
        else
        {
            model.load(Path.Combine(checkpoint, "model.bin"));
        }
    }

    /// <summary>
    /// Our byte tokenizer written as a tokenizer.json is read back as the <see cref="ByteTokenizer"/> itself: same ids,
    /// no native library needed.
    /// </summary>
    private static bool IsByteTokenizer(string folder)
    {
        var path = Path.Combine(folder, "tokenizer.json");
        JsonNode? json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }

        var model = json?["model"];
        return model?["vocab"] is JsonObject { Count: 256 } && model["merges"] is JsonArray { Count: 0 }
            && json?["added_tokens"] is JsonArray { Count: 3 } added
            && added.Select(t => t?["id"]?.GetValue<int>()).SequenceEqual([ByteTokenizer.Bos, ByteTokenizer.Eos, ByteTokenizer.Pad])
            && json["pre_tokenizer"]?["type"]?.GetValue<string>() == "ByteLevel";
    }
}
