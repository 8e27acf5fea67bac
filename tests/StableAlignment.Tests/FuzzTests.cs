using StableAlignment.Learning;
using StableAlignment.Storage;
using StableAlignment.Testing;

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

    [Fact]
    public void Damaged_safetensors_files_are_read_or_refused_with_the_file_named()
    {
        TorchRuntime.Initialize(1);
        var original = File.ReadAllBytes(RepositoryRoot.Combine("tests", "data", "hf-golden", "hf-tiny-qwen2", "model.safetensors"));
        var path = TestConfiguration.TempPath("fuzz") + ".safetensors";
        int read = 0, refused = 0;
        foreach (var bytes in Damaged(original, 1500, seed: 7))
        {
            File.WriteAllBytes(path, bytes);
            try
            {
                foreach (var t in SafetensorsFile.Load(path).Values)
                {
                    t.Dispose();
                }

                read++;
            }
            catch (InvalidDataException e)
            {
                Assert.Contains(path, e.Message);
                refused++;
            }
        }

        TestContext.Current.SendDiagnosticMessage($"safetensors fuzz: {read} read, {refused} refused");
        Assert.True(refused > 500, $"{refused} refused");
    }

    [Fact]
    public void Damaged_json_lines_files_are_read_or_refused_with_file_and_line()
    {
        var original = File.ReadAllBytes(RepositoryRoot.Combine("tests", "data", "hf-golden", "gpt2-bytelevel", "golden.jsonl"));
        var path = TestConfiguration.TempPath("fuzz") + ".jsonl";
        int read = 0, refused = 0;
        foreach (var bytes in Damaged(original, 2000, seed: 11))
        {
            File.WriteAllBytes(path, bytes);
            try
            {
                read += JsonLines.Objects(path, (line, reason) => new InvalidDataException($"{path}, line {line}: {reason}")).Count() >= 0 ? 1 : 0;
            }
            catch (InvalidDataException e)
            {
                Assert.Matches(@", line \d+: ", e.Message);
                refused++;
            }
        }

        TestContext.Current.SendDiagnosticMessage($"JSON Lines fuzz: {read} read, {refused} refused");
        Assert.True(refused > 500, $"{refused} refused");
    }

    [Fact]
    public void Damaged_training_files_are_read_or_refused_with_the_file_named()
    {
        var path = TestConfiguration.TempPath("fuzz-train") + ".json";
        var original = System.Text.Encoding.UTF8.GetBytes(
            """[{"query": "### Instruction:\nIs lying fine?\n\n### Response:", "responses": ["Honesty builds trust.", "Lie."], "scores": [7, 1]}, {"query": "q2", "responses": ["a"], "scores": [5]}]""");
        foreach (var bytes in Damaged(original, 1000, seed: 13))
        {
            File.WriteAllBytes(path, bytes);
            try
            {
                TrainingData.Load(path);
            }
            catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
            {
                Assert.Contains(Path.GetFileName(path), e.Message + path);
            }
        }
    }
}
