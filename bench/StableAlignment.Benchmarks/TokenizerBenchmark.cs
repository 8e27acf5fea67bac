using Microsoft.ML.Tokenizers;

namespace StableAlignment.Benchmarks;

public sealed record TokenizerResult(
    string Family, int GoldenTexts, int ParityHuggingFace, int ParityVocabularyOnly, double MegabytesPerSecondHuggingFace,
    double MegabytesPerSecondVocabularyOnly, double TokensPerSecondHuggingFace);

/// <summary>
/// Why the tokenizer is Hugging Face's own library: for each golden tokenizer file (tests/data/hf-golden), how many of
/// the golden encodings each candidate reproduces, and how fast it encodes the bundled society texts (median of 5).
/// The other candidate is Microsoft.ML.Tokenizers' BPE built from the file's vocabulary and merges, as this project
/// did before (it takes no normalizer, pre-tokenizer or post-processor from the file).
/// </summary>
public static class TokenizerBenchmark
{
    public static string Corpus { get; } = RepositoryRoot.Combine("data", "society", "revisions.jsonl");

    public static List<TokenizerResult> Run()
    {
        var texts = File.ReadLines(Corpus).SelectMany(l => JsonNode.Parse(l)!.AsObject().Select(p => p.Value)).OfType<JsonValue>()
            .Select(v => v.TryGetValue<string>(out var s) ? s : null).OfType<string>().ToList();
        var megabytes = texts.Sum(t => Encoding.UTF8.GetByteCount(t)) / 1e6;
        var results = new List<TokenizerResult>();
        foreach (var family in new[] { "gpt2-bytelevel", "llama-metaspace-bytefallback", "qwen2-split-bytelevel" })
        {
            var folder = RepositoryRoot.Combine("tests", "data", "hf-golden", family);
            var golden = File.ReadLines(Path.Combine(folder, "golden.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
            var hf = new HuggingFaceTokenizer(folder);
            var plain = VocabularyOnly(Path.Combine(folder, "tokenizer.json"));
            int Parity(Func<string, int[]> encode) =>
                golden.Count(g => encode(g["text"]!.GetValue<string>()).SequenceEqual(g["ids"]!.AsArray().Select(i => i!.GetValue<int>())));
            var hfParity = Parity(t => [.. hf.Start, .. hf.Encode(t)]);
            var plainParity = Parity(t => [.. plain.EncodeToIds(t)]);
            var (hfSeconds, tokens) = Time(() => texts.Sum(t => hf.Encode(t).Length));
            var (plainSeconds, _) = Time(() => texts.Sum(t => plain.EncodeToIds(t).Count));
            results.Add(new TokenizerResult(family, golden.Count, hfParity, plainParity, megabytes / hfSeconds, megabytes / plainSeconds, tokens / hfSeconds));
        }

        return results;
    }

    public static string Markdown(List<TokenizerResult> results)
    {
        var texts = File.ReadLines(Corpus).Count();
        var report = new StringBuilder()
            .AppendLine($"Inputs: the golden encodings of tests/data/hf-golden (made by Python's tokenizers 0.23.2) and, for speed, every text field of "
                + $"data/society/revisions.jsonl ({texts} records, {new FileInfo(Corpus).Length / 1e6:F2} MB), encoded one text at a time, median of 5 passes, one thread.")
            .AppendLine()
            .AppendLine("| tokenizer file | golden texts | ids equal: tokenizers (Tokenizers.DotNet) | ids equal: Microsoft.ML.Tokenizers, vocabulary + merges | MB/s: tokenizers | MB/s: Microsoft.ML.Tokenizers | tokens/s: tokenizers |")
            .AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            report.AppendLine(System.Globalization.CultureInfo.InvariantCulture,
                $"| {r.Family} | {r.GoldenTexts} | {r.ParityHuggingFace} | {r.ParityVocabularyOnly} | {r.MegabytesPerSecondHuggingFace:F2} | {r.MegabytesPerSecondVocabularyOnly:F2} | {r.TokensPerSecondHuggingFace:F0} |");
        }

        return report.ToString();
    }

    private static (double Seconds, long Tokens) Time(Func<long> encodeAll)
    {
        encodeAll();
        var runs = new List<(double, long)>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            var tokens = encodeAll();
            runs.Add((clock.Elapsed.TotalSeconds, tokens));
        }

        return runs.OrderBy(r => r.Item1).ElementAt(2);
    }

    private static BpeTokenizer VocabularyOnly(string path)
    {
        var model = JsonNode.Parse(File.ReadAllText(path))!["model"]!;
        var merges = model["merges"]!.AsArray().Select(m => m is JsonArray pair ? $"{pair[0]} {pair[1]}" : m!.GetValue<string>());
        using var vocab = new MemoryStream(Encoding.UTF8.GetBytes(model["vocab"]!.ToJsonString()));
        using var mergeStream = new MemoryStream(Encoding.UTF8.GetBytes("#version: 0.2\n" + string.Join('\n', merges)));
        return BpeTokenizer.Create(vocab, mergeStream);
    }
}
