using StableAlignment.Primitives;

namespace StableAlignment.Tests;

/// <summary>
/// Random byte flips and truncations over valid files: the readers must either read the damaged file or refuse it
/// with their own error naming the file — never an unhandled exception, never an allocation the file cannot back.
/// </summary>
public sealed class FuzzTests
{
    private static IEnumerable<byte[]> Damaged(byte[] original, int cases, int seed)
    {
        var rng = new Random(seed);
        for (var i = 0; i < cases; i++)
        {
            var bytes = (byte[])original.Clone();
            if (i % 3 == 0)
            {
                bytes = bytes[..rng.Next(bytes.Length)];
            }
            else
            {
                // Flips concentrate on the start of the file, where headers live.
                for (var k = rng.Next(1, 4); k > 0; k--)
                {
                    var at = rng.Next(2) == 0 ? rng.Next(Math.Min(bytes.Length, 600)) : rng.Next(bytes.Length);
                    bytes[at] = (byte)rng.Next(256);
                }
            }

            yield return bytes;
        }
    }

    /// <summary>Writes each damaged copy to <paramref name="path"/> and reads it; returns how many were refused, each checked by <paramref name="check"/>.</summary>
    private static int Refused(byte[] original, int cases, int seed, string path, Action read, Action<InvalidDataException> check)
    {
        int readCount = 0, refused = 0;
        foreach (var bytes in Damaged(original, cases, seed))
        {
            File.WriteAllBytes(path, bytes);
            try
            {
                read();
                readCount++;
            }
            catch (InvalidDataException e)
            {
                check(e);
                refused++;
            }
        }

        TestContext.Current.SendDiagnosticMessage($"{Path.GetExtension(path)} fuzz: {readCount} read, {refused} refused of {cases}");
        return refused;
    }

    [Fact]
    public void Damaged_safetensors_files_are_read_or_refused_with_the_file_named()
    {
        TorchRuntime.Initialize(1);
        var original = File.ReadAllBytes(RepositoryRoot.Combine("tests", "data", "hf-golden", "hf-tiny-qwen2", "model.safetensors"));
        var path = TestConfiguration.TempPath("fuzz") + ".safetensors";
        var refused = Refused(original, 1500, seed: 7, path,
            () =>
            {
                foreach (var t in SafetensorsFile.Load(path).Values)
                {
                    t.Dispose();
                }
            },
            e => Assert.Contains(path, e.Message));
        Assert.True(refused > 500, $"{refused} refused");
    }

    [Fact]
    public void Damaged_json_lines_files_are_read_or_refused_with_file_and_line()
    {
        var original = File.ReadAllBytes(RepositoryRoot.Combine("tests", "data", "hf-golden", "gpt2-bytelevel", "golden.jsonl"));
        var path = TestConfiguration.TempPath("fuzz") + ".jsonl";
        var refused = Refused(original, 2000, seed: 11, path,
            () => JsonLines.Objects(path, (line, reason) => new InvalidDataException($"{path}, line {line}: {reason}")).ToList(),
            e => Assert.Matches(@", line \d+: ", e.Message));
        Assert.True(refused > 500, $"{refused} refused");
    }

    [Fact]
    public void Damaged_training_files_are_read_or_refused_with_the_file_named()
    {
        var path = TestConfiguration.TempPath("fuzz-train") + ".json";
        var original = System.Text.Encoding.UTF8.GetBytes(
            """[{"query": "### Instruction:\nIs lying fine?\n\n### Response:", "responses": ["Honesty builds trust.", "Lie."], "scores": [7, 1]}, {"query": "q2", "responses": ["a"], "scores": [5]}]""");
        var refused = Refused(original, 1000, seed: 13, path, () => TrainingData.Load(path), e => Assert.Contains(path, e.Message));
        Assert.True(refused > 300, $"{refused} refused");
    }

    [Fact]
    public void Damaged_export_files_are_read_or_refused_with_file_and_record()
    {
        var folder = Directory.CreateDirectory(Path.Combine(TestConfiguration.TempPath("fuzz-export"), "external_memory")).FullName;
        var path = Path.Combine(folder, "agent_1.jsonl");
        var record = new Dictionary<string, object>
        {
            ["agent_id"] = 1, ["label"] = "good", ["iteration"] = 0, ["question"] = "Is it fine to lie?", ["draft_answer"] = "No.", ["target_id"] = new[] { 2, 3 },
            ["feedback"] = new[] { "honest", "kind" }, ["rating"] = new[] { 6, 7 }, ["revised_answer"] = "No, it is not.", ["gen_moral_score_before"] = 4, ["gen_moral_score_after"] = 6,
        };
        var original = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new[] { record, record, record });
        var refused = Refused(original, 1500, seed: 17, path,
            () =>
            {
                try
                {
                    StableAlignment.DatasetBuilder.RecordSources.FromExportAsync(Path.GetDirectoryName(folder)!).ToBlockingEnumerable().ToList();
                }
                catch (StableAlignment.DatasetBuilder.RecordFormatException e)
                {
                    throw new InvalidDataException(e.Message, e);
                }
            },
            e => Assert.Matches(@"agent_1\.jsonl, record \d+: ", e.Message));
        Assert.True(refused > 300, $"{refused} refused");
    }

    [Fact]
    public void Damaged_gzip_feeds_are_read_or_refused_with_the_file_named_never_half_read()
    {
        var path = TestConfiguration.TempPath("fuzz-feed") + ".txt.gz";
        var text = string.Concat(Enumerable.Range(0, 300).Select(i => $"Is it fine to break promise number {i}?\n"));
        var original = Gzip(System.Text.Encoding.UTF8.GetBytes(text));
        var expected = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var read = 0;
        var refused = Refused(original, 1500, seed: 19, path,
            () =>
            {
                IReadOnlyList<string> questions;
                try
                {
                    questions = StableAlignment.Data.QuestionFeed.Load(path);
                }
                catch (StableAlignment.Data.FeedFormatException e)
                {
                    throw new InvalidDataException(e.Message, e);
                }

                // gzip's trailer carries the CRC-32 and length of the whole text: a copy that reads must read whole.
                Assert.Equal(expected, questions);
                read++;
            },
            e => Assert.Contains(path, e.Message));
        TestContext.Current.SendDiagnosticMessage($"gzip feed fuzz: {read} read whole, {refused} refused, none half read");
        Assert.True(refused > 700, $"{refused} refused");
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Optimal))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
