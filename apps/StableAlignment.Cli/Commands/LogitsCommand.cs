using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using StableAlignment.Learning;
using static TorchSharp.torch;

namespace StableAlignment.Cli;

/// <summary><c>sa logits</c>: the fp32 logits of a sequence of ids as JSON, for parity checks against other implementations.</summary>
public static class LogitsCommand
{
    public static Command Create(CliOptions cli)
    {
        var ids = new Option<string>("--ids") { Description = "Token ids, comma-separated", Required = true };
        var output = new Option<FileInfo?>("--out") { Description = "Write the JSON here instead of standard output" };
        var command = new Command("logits", "The fp32 logits of a sequence of ids as JSON (--model DIR), for parity checks") { ids, output, cli.Model };
        command.SetAction(p => Logits(p.GetValue(cli.Model), p.GetValue(ids)!, p.GetValue(output)));
        return command;
    }

    /// <summary>The fp32 logits of one sequence of ids as JSON (for parity checks against other implementations).</summary>
    public static int Logits(string? modelFolder, string ids, FileInfo? output)
    {
        return CliErrors.Guard(() =>
        {
            if (modelFolder is null)
            {
                throw new ArgumentException("--model DIR is required: a model folder or a checkpoint.");
            }

            var input = ids.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(t => long.Parse(t, CultureInfo.InvariantCulture)).ToArray();
            using var model = Checkpoints.LoadModel(modelFolder);
            if (input.Where(id => id < 0 || id >= model.Config.VocabSize).Select(id => (long?)id).FirstOrDefault() is { } bad)
            {
                throw new ArgumentException($"--ids: {bad} is outside the model's vocabulary (0–{model.Config.VocabSize - 1}, config.json vocab_size).");
            }

            if (input.Length == 0 || input.Length > model.Config.MaxPositions)
            {
                throw new ArgumentException($"--ids: {input.Length} ids; the model takes 1–{model.Config.MaxPositions}.");
            }

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
}
