using System.Text;

namespace StableAlignment.Learning;

/// <summary>Bytes of UTF-8 as tokens (0–255) plus beginning, end and padding: no vocabulary file, nothing to download.</summary>
public sealed class ByteTokenizer : ITokenizer
{
    public const int Bos = 256;
    public const int Eos = 257;
    public const int Pad = 258;

    public int VocabularySize => 259;

    public int BosId => Bos;

    public int EosId => Eos;

    public int PadId => Pad;

    public int[] Encode(string text) => [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)];

    public string Decode(IEnumerable<int> tokens) => Encoding.UTF8.GetString([.. tokens.Where(t => t is >= 0 and < 256).Select(t => (byte)t)]);
}

public interface ITokenizer
{
    int VocabularySize { get; }

    int BosId { get; }

    int EosId { get; }

    int PadId { get; }

    int[] Encode(string text);

    string Decode(IEnumerable<int> tokens);
}
