using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using StableAlignment.Learning;
using TorchSharp;
using static TorchSharp.torch;

namespace StableAlignment.Cli;

/// <summary><c>sa tokenize</c>, <c>sa export</c> and <c>sa logits</c>: looking into a model folder and taking a model out.</summary>
public static class ModelCommands
{
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Ids and tokens of each text (or, with <paramref name="decode"/>, the text of each list of ids).</summary>
    public static int Tokenize(string model, bool decode, bool json, string[] texts)
    {
        return Guard(() =>
        {
            if (model is not ("tiny" or "small") && !Directory.Exists(model))
            {
                throw new DirectoryNotFoundException($"--model must be tiny, small, a model folder or a checkpoint; '{model}' does not exist.");
            }

            var tokenizer = Checkpoints.TokenizerFor(model);
            foreach (var text in texts)
            {
                if (decode)
                {
                    var ids = text.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
                    var decoded = tokenizer.Decode(ids);
                    Console.WriteLine(json ? JsonSerializer.Serialize(new { ids, decoded }, Readable) : decoded);
                    continue;
                }

                var sequence = tokenizer.Start.Concat(tokenizer.Encode(text)).ToArray();
                var tokens = sequence.Select(tokenizer.TokenText).ToArray();
                if (json)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new { text, ids = sequence, tokens, decoded = tokenizer.Decode(sequence) }, Readable));
                    continue;
                }

                var table = new Table().AddColumns("#", "id", "token");
                for (var i = 0; i < sequence.Length; i++)
                {
                    table.AddTextRow(i.ToString(CultureInfo.InvariantCulture), sequence[i].ToString(CultureInfo.InvariantCulture), Markup.Escape(JsonSerializer.Serialize(tokens[i], Readable)));
                }

                AnsiConsole.Write(table);
                Console.WriteLine($"{sequence.Length} tokens: [{string.Join(", ", sequence)}]");
            }

            return 0;
        });
    }

    /// <summary>
    /// Writes a checkpoint (or any model folder) as a clean Hugging Face folder, optionally in another dtype; a LoRA
    /// checkpoint is merged into its base, or with <paramref name="adapter"/> written as a PEFT folder.
    /// </summary>
    public static int Export(string checkpoint, DirectoryInfo output, string dtype, bool adapter = false)
    {
        return Guard(() =>
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

    /// <summary>The fp32 logits of one sequence of ids as JSON (for parity checks against other implementations).</summary>
    public static int Logits(string? modelFolder, string ids, FileInfo? output)
    {
        return Guard(() =>
        {
            if (modelFolder is null)
            {
                throw new ArgumentException("--model DIR is required: a model folder or a checkpoint.");
            }

            var input = ids.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(t => long.Parse(t, CultureInfo.InvariantCulture)).ToArray();
            using var model = Checkpoints.LoadModel(modelFolder);
            model.eval();
            using var _ = no_grad();
            using var logits = model.forward(tensor(input, [1, input.Length])).to(ScalarType.Float32)[0];
            var rows = Enumerable.Range(0, input.Length).Select(t => logits[t].data<float>().ToArray()).ToArray();
            var text = JsonSerializer.Serialize(new { input_ids = input, logits = rows });
            if (output is null)
            {
                Console.WriteLine(text);
            }
            else
            {
                File.WriteAllText(output.FullName, text);
            }

            return 0;
        });
    }

    /// <summary>Bad input ends in one line naming what is wrong, exit code 2.</summary>
    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or FormatException or JsonException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }
}
