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
        // Exact: each run is a process of its own whose thread count (from the config) never changes, so libtorch's
        // CPU reductions are bit-stable between the two.
        Assert.Equal(Losses(first), Losses(second));
        Assert.NotEmpty(Losses(first));

        (exit, _, err) = await SaProcess.RunAsync(root, ["eval", "--config", "examples/eval.yaml", "--checkpoint", first, "--out", Path.Combine(work, "eval")]);
        Assert.True(exit == 0, err);
        Assert.True(File.Exists(Path.Combine(work, "eval", "report.json")));
        Assert.True(File.Exists(Path.Combine(work, "eval", "config.resolved.yaml")));
    }

    [Fact]
    public async Task The_simulation_and_dataset_examples_run_and_a_resolved_config_rebuilds_the_same_dataset()
    {
        await using var stub = await StubModelServer.StartAsync();
        var work = Directory.CreateDirectory(TestConfiguration.TempPath("config-sim")).FullName;
        var root = RepositoryRoot.Combine();
        var export = Path.Combine(work, "simulation");
        var (exit, _, err) = await SaProcess.RunAsync(work, ["simulate", "--config", Path.Combine(root, "examples", "simulate.yaml"), "--export", export, "--endpoint", stub.Endpoint, "--model", "stub-model"]);
        Assert.True(exit == 0, err);
        Assert.Contains("grid-size: 3", await File.ReadAllTextAsync(Path.Combine(export, "config.resolved.yaml"), TestContext.Current.CancellationToken), StringComparison.Ordinal);

        var first = Path.Combine(work, "dataset-a");
        (exit, _, err) = await SaProcess.RunAsync(root, ["dataset", "build", "--config", "examples/dataset.yaml", "--from-export", export, "--out", first]);
        Assert.True(exit == 0, err);
        var second = Path.Combine(work, "dataset-b");
        (exit, _, err) = await SaProcess.RunAsync(work, ["dataset", "build", "--config", Path.Combine(first, "config.resolved.yaml"), "--out", second]);
        Assert.True(exit == 0, err);
        Assert.Equal(DatasetId(first), DatasetId(second));
        Assert.True(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(first, "manifest.json")))!["stats"]!["records"]!.GetValue<long>() > 0, "the dataset is empty");
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(first, "train.authors.json"), TestContext.Current.CancellationToken), await File.ReadAllTextAsync(Path.Combine(second, "train.authors.json"), TestContext.Current.CancellationToken));
    }

    private static string DatasetId(string folder) =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "manifest.json")))!["datasetId"]!.GetValue<string>();

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
