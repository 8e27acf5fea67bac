using System.CommandLine;
using StableAlignment.Learning;
using TorchSharp;
using static TorchSharp.torch;

namespace StableAlignment.Cli;

/// <summary><c>sa export</c>: a checkpoint as a Hugging Face folder (a LoRA checkpoint merged, or as a PEFT folder).</summary>
public static class ExportCommand
{
    public static Command Create(CliOptions cli)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training folder, a checkpoint or a model folder", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "The Hugging Face folder to write (replaced if it exists)", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "fp32, bf16 or fp16", DefaultValueFactory = _ => "fp32" };
        var adapter = new Option<bool>("--adapter") { Description = "For a LoRA checkpoint: write its adapters as a PEFT folder (adapter_config.json, adapter_model.safetensors) instead of the merged model" };
        var command = new Command("export", "Write a checkpoint as a Hugging Face folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json (a LoRA checkpoint merged, or with --adapter as a PEFT folder)")
        {
            checkpoint, output, dtype, adapter,
        };
        command.SetAction(p => Export(p.GetValue(checkpoint)!, p.GetValue(output)!, p.GetValue(dtype)!, p.GetValue(adapter)));
        return command;
    }

    /// <summary>
    /// Writes a checkpoint (or any model folder) as a clean Hugging Face folder, optionally in another dtype; a LoRA
    /// checkpoint is merged into its base, or with <paramref name="adapter"/> written as a PEFT folder.
    /// </summary>
    public static int Export(string checkpoint, DirectoryInfo output, string dtype, bool adapter = false)
    {
        return CliErrors.Guard(() =>
        {
            var type = dtype switch
            {
                "fp32" or "float32" => ScalarType.Float32,
                "bf16" or "bfloat16" => ScalarType.BFloat16,
                "fp16" or "float16" => ScalarType.Float16,
                _ => throw new ArgumentException($"--dtype must be fp32, bf16 or fp16, not '{dtype}'."),
            };
            var tokenizer = Checkpoints.TokenizerFor(checkpoint);
            string what;
            if (adapter)
            {
                var folder = Checkpoints.Latest(checkpoint) ?? throw new ArgumentException($"--adapter needs a LoRA training folder or checkpoint; {checkpoint} holds no checkpoint.");
                var state = Checkpoints.ReadState(folder);
                var lora = state.Options.Lora ?? throw new ArgumentException($"{folder} was trained without --lora-rank: it has no adapters; export it without --adapter.");
                WriteReplacing(output, temp => Lora.ExportAdapter(folder, lora, state.Options.Base, type, tokenizer, temp));
                what = $"PEFT LoRA adapter (r {lora.Rank}, alpha {lora.Alpha:g}, base {state.Options.Base}), {lora.ParameterCount(state.Config):N0} parameters, {dtype}";
            }
            else
            {
                using var model = Checkpoints.LoadModel(checkpoint);
                model.to(type);
                if (tokenizer is ByteTokenizer && HuggingFace.IsFolder(checkpoint) && !File.Exists(Path.Combine(checkpoint, "tokenizer.json")))
                {
                    Console.Error.WriteLine($"note: {checkpoint} has no tokenizer.json; the export carries the byte tokenizer.");
                }

                WriteReplacing(output, temp => HuggingFace.Save(model, tokenizer, temp));
                var merged = Checkpoints.Latest(checkpoint) is { } c && Checkpoints.ReadState(c).Options.Lora is not null ? " (LoRA adapters merged)" : "";
                what = $"{model.Config.Architecture} model{merged}, {model.Config.ParameterCount():N0} parameters, {dtype}";
            }

            Console.WriteLine($"{what}, written to {output.FullName}:");
            foreach (var file in Directory.GetFiles(output.FullName).Order())
            {
                Console.WriteLine($"  {Path.GetFileName(file)}  {new FileInfo(file).Length:N0} bytes");
            }

            return 0;
        });
    }

    /// <summary>
    /// Writes into a folder beside the target and renames it into place: a failure leaves neither a half-written folder
    /// nor the old one damaged.
    /// </summary>
    private static void WriteReplacing(DirectoryInfo output, Action<string> write)
    {
        var temp = output.FullName.TrimEnd('/') + $".{Guid.NewGuid():N}.tmp";
        try
        {
            write(temp);
            if (output.Exists)
            {
                output.Delete(recursive: true);
            }

            Directory.Move(temp, output.FullName);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }
}
