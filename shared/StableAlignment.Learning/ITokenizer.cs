namespace StableAlignment.Learning;

/// <summary>Text to token ids and back, as a model was trained to read them.</summary>
public interface ITokenizer
{
    int VocabularySize { get; }

    /// <summary>The beginning-of-sequence token, where the tokenizer has one (Qwen2 and GPT-2 have none).</summary>
    int? BosId { get; }

    int EosId { get; }

    int PadId { get; }

    /// <summary>The special tokens that open every sequence (the post-processor's prefix: <c>&lt;s&gt;</c> for LLaMA, none for Qwen2).</summary>
    IReadOnlyList<int> Start { get; }

    /// <summary>The ids of a text, without the special tokens that open or close a whole sequence.</summary>
    int[] Encode(string text);

    /// <summary>Text of the ids, special tokens left out.</summary>
    string Decode(IEnumerable<int> tokens);

    /// <summary>The vocabulary entry of one id, as the tokenizer stores it (e.g. <c>Ġhello</c>, <c>▁hello</c>, <c>&lt;0x0A&gt;</c>).</summary>
    string TokenText(int id);

    /// <summary>Writes <c>tokenizer.json</c> and <c>tokenizer_config.json</c>, so that Hugging Face libraries load the same tokenizer.</summary>
    void WriteTo(string folder);
}
