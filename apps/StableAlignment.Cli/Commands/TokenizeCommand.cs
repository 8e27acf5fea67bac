using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using StableAlignment.Learning;

namespace StableAlignment.Cli;

/// <summary><c>sa tokenize</c>: token ids and tokens of a text under a model's tokenizer.</summary>
public static class TokenizeCommand
{
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(CliOptions cli)
    {
        var decode = new Option<bool>("--decode") { Description = "The arguments are token ids (comma- or space-separated): print their text" };
        var json = new Option<bool>("--json") { Description = "One JSON object per text: ids, tokens, decoded" };
        var text = new Argument<string[]>("text") { Description = "Texts to tokenize (or ids to decode)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("tokenize", "Token ids and tokens of a text under a model's tokenizer (--model DIR: a model folder, a checkpoint, tiny or small)")
        {
            decode, json, text, cli.Model,
        };
        command.SetAction(p => Tokenize(p.GetValue(cli.Model) ?? "tiny", p.GetValue(decode), p.GetValue(json), p.GetValue(text)!));
        return command;
    }

    /// <summary>Ids and tokens of each text (or, with <paramref name="decode"/>, the text of each list of ids).</summary>
    public static int Tokenize(string model, bool decode, bool json, string[] texts)
    {
        return CliErrors.Guard(() =>
        {
            if (model is not ("tiny" or "small") && !Directory.Exists(model))
            {
                throw new DirectoryNotFoundException($"--model must be tiny, small, a model folder or a checkpoint; '{model}' does not exist.");
            }

            var tokenizer = Checkpoints.TokenizerFor(model);
            var kind = tokenizer is ByteTokenizer ? "byte" : "tokenizer.json";
            if (tokenizer is ByteTokenizer && model is not ("tiny" or "small"))
            {
                // Said on standard error, so --json output stays one object per line.
                Console.Error.WriteLine($"{model} has no tokenizer.json of its own: using the byte tokenizer (what tiny and small use).");
            }

            foreach (var text in texts)
            {
                if (decode)
                {
                    var ids = text.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
                    var decoded = tokenizer.Decode(ids);
                    Console.WriteLine(json ? JsonSerializer.Serialize(new { ids, decoded, tokenizer = kind }, Readable) : decoded);
                    continue;
                }

                var sequence = tokenizer.Start.Concat(tokenizer.Encode(text)).ToArray();
                var tokens = sequence.Select(tokenizer.TokenText).ToArray();
                if (json)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new { text, ids = sequence, tokens, decoded = tokenizer.Decode(sequence), tokenizer = kind }, Readable));
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
}
