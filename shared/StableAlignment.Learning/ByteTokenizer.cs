using System.Text;
using System.Text.Json.Nodes;

namespace StableAlignment.Learning;

/// <summary>Bytes of UTF-8 as tokens (0–255) plus beginning, end and padding: no vocabulary file, nothing to download.</summary>
public sealed class ByteTokenizer : ITokenizer
{
    public const int Bos = 256;
    public const int Eos = 257;
    public const int Pad = 258;

    public int VocabularySize => 259;

    public int? BosId => Bos;

    public int EosId => Eos;

    public int PadId => Pad;

    public IReadOnlyList<int> Start { get; } = [Bos];

    public int[] Encode(string text) => [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)];

    public string Decode(IEnumerable<int> tokens) => Encoding.UTF8.GetString([.. tokens.Where(t => t is >= 0 and < 256).Select(t => (byte)t)]);

    public string TokenText(int id) => id switch
    {
        Bos => "<s>",
        Eos => "</s>",
        Pad => "<pad>",
        >= 0 and < 256 => ByteLevelAlphabet.Char((byte)id),
        _ => throw new ArgumentOutOfRangeException(nameof(id), $"Token id {id} is outside the byte vocabulary (0–258)."),
    };

    /// <summary>
    /// The same tokenizer as a Hugging Face <c>tokenizer.json</c>: a byte-level pre-tokenizer without a split pattern,
    /// a BPE model whose vocabulary is the 256 byte symbols with their byte values as ids and no merges, a template
    /// that opens each sequence with <c>&lt;s&gt;</c>, and the byte-level decoder.
    /// </summary>
    public void WriteTo(string folder)
    {
        static JsonObject Special(int id, string content) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        };
        static JsonObject ByteLevel() => new() { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false };
        var vocab = new JsonObject();
        for (var b = 0; b < 256; b++)
        {
            vocab[ByteLevelAlphabet.Char((byte)b)] = b;
        }

        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Special(Bos, "<s>"), Special(Eos, "</s>"), Special(Pad, "<pad>")),
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(),
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = JsonNode.Parse("""[{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]"""),
                ["pair"] = JsonNode.Parse("""[{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}]"""),
                ["special_tokens"] = new JsonObject { ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(Bos), ["tokens"] = new JsonArray("<s>") } },
            },
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), json.ToJsonString(HuggingFace.Indented));
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), HuggingFace.TokenizerConfig("<s>", "</s>", "<pad>").ToJsonString(HuggingFace.Indented));
    }
}

/// <summary>
/// GPT-2's byte-level alphabet: each byte is shown as a printable character (printable ASCII and Latin-1 bytes as
/// themselves, the others as the characters from U+0100 on, in byte order), so byte strings can live in a JSON vocabulary.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly string[] Chars = Build();

    public static string Char(byte b) => Chars[b];

    private static string[] Build()
    {
        var chars = new string[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            chars[b] = ((char)(printable ? b : next++)).ToString();
        }

        return chars;
    }
}
