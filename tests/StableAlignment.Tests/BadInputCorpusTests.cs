using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace StableAlignment.Tests;

/// <summary>
/// Every case of <c>tests/data/bad-inputs</c> (see its README): each command-line case must end with exit code 2 and
/// one line on standard error naming the file and the reason, no stack trace, and nothing written: the output
/// folder absent and the inputs unchanged. HTTP cases must get their 4xx at once with the field named; the AMQP
/// cases run in the integration tests.
/// </summary>
public sealed class BadInputCorpusTests
{
    private static readonly string Corpus = RepositoryRoot.Combine("tests", "data", "bad-inputs");

    public static JsonArray Cases() => JsonNode.Parse(File.ReadAllText(Path.Combine(Corpus, "cases.json")))!.AsArray();

    [Fact]
    public void The_corpus_has_at_least_sixty_cases_over_every_channel()
    {
        var cases = Cases();
        Assert.True(cases.Count >= 60, $"{cases.Count} cases");
        var channels = cases.Select(c => c!["channel"]!.GetValue<string>()).ToHashSet();
        foreach (var channel in new[] { "feed", "prior", "export", "training-data", "benchmark", "hf-folder", "checkpoint", "stats", "report", "samples", "store", "http", "amqp" })
        {
            Assert.Contains(channel, channels);
        }

        Assert.Equal(cases.Count, cases.Select(c => c!["id"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public async Task Every_command_line_case_fails_with_one_line_naming_the_file_and_writes_nothing()
    {
        var work = Directory.CreateDirectory(TestConfiguration.TempPath("bad-inputs")).FullName;
        var checkpoint = await TrainedCheckpointAsync(work);
        var cases = Cases().Where(c => c!["channel"]!.GetValue<string>() is not ("http" or "amqp")).ToList();
        var failures = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (c, ct) =>
        {
            var problem = await RunCaseAsync(c!.AsObject(), work, checkpoint);
            if (problem is not null)
            {
                failures.Add($"{c["id"]}: {problem}");
            }
        });

        TestContext.Current.TestOutputHelper?.WriteLine($"bad-input corpus: {cases.Count} command-line cases, {cases.Count - failures.Count} passed");
        Assert.True(failures.IsEmpty, string.Join("\n", failures.Order()));
    }

    [Fact]
    public async Task Every_http_case_gets_its_4xx_at_once_with_the_field_named()
    {
        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub);
        var cases = Cases().Where(c => c!["channel"]!.GetValue<string>() == "http").ToList();
        var failures = new List<string>();
        foreach (var c in cases)
        {
            using var request = new HttpRequestMessage(new HttpMethod(c!["method"]!.GetValue<string>()), c["url"]!.GetValue<string>())
            {
                Content = new StringContent(c["body"]!.GetValue<string>(), Encoding.UTF8, "application/json"),
            };
            using var response = await app.Client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var expected = (HttpStatusCode)c["status"]!.GetValue<int>();
            if (response.StatusCode != expected)
            {
                failures.Add($"{c["id"]}: {(int)response.StatusCode} instead of {(int)expected}: {body}");
            }
            else if (Expect(c).FirstOrDefault(e => !body.Contains(e, StringComparison.Ordinal)) is { } missing)
            {
                failures.Add($"{c["id"]}: the problem does not say '{missing}': {body}");
            }
        }

        using var runs = await app.Client.GetAsync("/api/agents/runs");
        Assert.Equal("[]", await runs.Content.ReadAsStringAsync());
        TestContext.Current.TestOutputHelper?.WriteLine($"bad-input corpus: {cases.Count} HTTP cases, {cases.Count - failures.Count} passed");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static IEnumerable<string> Expect(JsonNode c) => c["expect"]!.AsArray().Select(e => e!.GetValue<string>());

    /// <summary>Null when the case behaved, otherwise what went wrong.</summary>
    private static async Task<string?> RunCaseAsync(JsonObject c, string work, string checkpoint)
    {
        var id = c["id"]!.GetValue<string>();
        var folder = Directory.CreateDirectory(Path.Combine(work, id)).FullName;
        var source = Path.Combine(Corpus, id);
        var caseDir = Path.Combine(folder, "case");
        Copy(source, caseDir);
        var output = Path.Combine(folder, "out");
        string? Overlay(string from)
        {
            var target = Path.Combine(folder, Path.GetFileName(from));
            Copy(from, target);
            Copy(source, target);
            return target;
        }

        var args = c["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        var hf = args.Any(a => a.Contains("{hf}", StringComparison.Ordinal)) ? Overlay(RepositoryRoot.Combine("tests", "data", "hf-golden", "hf-tiny-llama")) : null;
        var ckcopy = args.Any(a => a.Contains("{ckcopy}", StringComparison.Ordinal)) ? Overlay(checkpoint) : null;
        args = [.. args.Select(a => a.Replace("{case}", caseDir, StringComparison.Ordinal).Replace("{out}", output, StringComparison.Ordinal)
            .Replace("{checkpoint}", checkpoint, StringComparison.Ordinal).Replace("{hf}", hf ?? "", StringComparison.Ordinal).Replace("{ckcopy}", ckcopy ?? "", StringComparison.Ordinal))];
        var before = Fingerprint(folder);
        var checkpointBefore = Fingerprint(checkpoint);

        // The store channel reads artifacts/store under the working folder: the case folder itself.
        var (exit, stdout, stderr) = await SaProcess.RunAsync(c["channel"]!.GetValue<string>() == "store" ? caseDir : folder, args);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith("warning:", StringComparison.Ordinal)).ToList();
        if (exit != 2)
        {
            return $"exit {exit} (stderr: {stderr.Trim()}; stdout: {stdout.Trim()[..Math.Min(300, stdout.Trim().Length)]})";
        }

        if (lines.Count != 1)
        {
            return $"{lines.Count} error lines: {stderr.Trim()[..Math.Min(600, stderr.Trim().Length)]}";
        }

        if (stderr.Contains("   at ", StringComparison.Ordinal) || stdout.Contains("   at ", StringComparison.Ordinal) || stderr.Contains("Unhandled", StringComparison.Ordinal))
        {
            return $"a stack trace: {stderr}";
        }

        if (Expect(c).FirstOrDefault(e => !lines[0].Contains(e, StringComparison.OrdinalIgnoreCase)) is { } missing)
        {
            return $"the error does not say '{missing}': {lines[0]}";
        }

        if (Directory.Exists(output))
        {
            return $"the output folder was written: {string.Join(", ", Directory.GetFileSystemEntries(output, "*", SearchOption.AllDirectories).Select(Path.GetFileName))}";
        }

        var after = Fingerprint(folder);
        if (after != before)
        {
            return "files in the case folder changed";
        }

        return Fingerprint(checkpoint) == checkpointBefore ? null : "the shared checkpoint changed";
    }

    /// <summary>A small checkpoint trained once for the benchmark and checkpoint cases.</summary>
    private static async Task<string> TrainedCheckpointAsync(string work)
    {
        var data = Path.Combine(work, "train.authors.json");
        await File.WriteAllTextAsync(data, JsonSerializer.Serialize(new[]
        {
            new { query = "### Instruction:\nIs lying fine?\n\n### Response:", responses = new[] { "Honesty builds trust.", "Lie freely." }, scores = new[] { 7, 1 } },
        }));
        var training = Path.Combine(work, "training");
        var (exit, _, err) = await SaProcess.RunAsync(work, ["train", "--data", data, "--out", training, "--max-steps", "1", "--checkpoint-every", "1", "--threads", "1"]);
        Assert.True(exit == 0, err);
        var checkpoint = StableAlignment.Learning.Checkpoints.Latest(training)!;
        Assert.NotNull(checkpoint);
        return checkpoint;
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        if (!Directory.Exists(from))
        {
            return;
        }

        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    private static string Fingerprint(string folder) => string.Join("\n", Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
        .Select(f => $"{Path.GetRelativePath(folder, f)} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}"));
}
