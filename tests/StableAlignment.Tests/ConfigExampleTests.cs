using StableAlignment.Learning;
using StableAlignment.Testing;

namespace StableAlignment.Tests;

/// <summary>Every example configuration runs; flags win over the file; a resolved configuration repeats the run exactly.</summary>
public sealed class ConfigExampleTests
{
    [Fact]
    public async Task The_examples_run_and_a_resolved_config_reproduces_the_loss_curve()
    {
        var work = TestConfiguration.TempPath("config-examples");
        var root = RepositoryRoot.Combine();
        var first = Path.Combine(work, "train-a");
        var (exit, _, err) = await SaProcess.RunAsync(root, ["train", "--config", "examples/train.yaml", "--out", first]);
        Assert.True(exit == 0, err);
        var resolved = Path.Combine(first, "config.resolved.yaml");
        var text = await File.ReadAllTextAsync(resolved, TestContext.Current.CancellationToken);
        Assert.Contains($"out: '{first}'", text, StringComparison.Ordinal); // the flag won over the file's out
        Assert.Contains("epochs: 2", text, StringComparison.Ordinal);

        var second = Path.Combine(work, "train-b");
        (exit, _, err) = await SaProcess.RunAsync(work, ["train", "--config", resolved, "--out", second]);
        Assert.True(exit == 0, err);
        Assert.Equal(Losses(first), Losses(second));
        Assert.NotEmpty(Losses(first));

        (exit, _, err) = await SaProcess.RunAsync(root, ["eval", "--config", "examples/eval.yaml", "--checkpoint", first, "--out", Path.Combine(work, "eval")]);
        Assert.True(exit == 0, err);
        Assert.True(File.Exists(Path.Combine(work, "eval", "report.json")));
        Assert.True(File.Exists(Path.Combine(work, "eval", "config.resolved.yaml")));
    }

    [Fact]
    public async Task A_key_that_is_not_an_option_is_refused_with_the_file_and_the_key()
    {
        var work = TestConfiguration.TempPath("config-bad");
        Directory.CreateDirectory(work);
        var file = Path.Combine(work, "bad.yaml");
        await File.WriteAllTextAsync(file, "data: x.json\nepochz: 3\n", TestContext.Current.CancellationToken);
        var (exit, _, err) = await SaProcess.RunAsync(work, ["train", "--config", file]);
        Assert.Equal(2, exit);
        Assert.Contains("'epochz' is not an option of sa train", err, StringComparison.Ordinal);
        Assert.Contains(file, err, StringComparison.Ordinal);
    }

    private static List<double> Losses(string folder) =>
        [.. File.ReadLines(Path.Combine(folder, "metrics.jsonl")).Select(l => System.Text.Json.JsonSerializer.Deserialize<StepMetrics>(l)!.Loss)];
}
