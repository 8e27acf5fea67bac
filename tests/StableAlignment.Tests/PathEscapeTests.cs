using StableAlignment.Primitives;

namespace StableAlignment.Tests;

/// <summary>Names from requests and messages stay under their configured roots; every escaping form is refused naming the field.</summary>
public sealed class PathEscapeTests : IAsyncLifetime
{
    private readonly EscapingNames _names = new("escape");
    private StubModelServer _stub = null!;
    private SingleProcessApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        _stub = await StubModelServer.StartAsync();
        _app = await SingleProcessApp.StartAsync(_stub, new Dictionary<string, string?>
        {
            ["Trainer:ModelsRoot"] = _names.Root("models"),
            ["Trainer:DatasetsRoot"] = _names.Root("datasets"),
            ["Trainer:ReceivedDatasets"] = _names.Root("datasets"),
            ["Trainer:Root"] = _names.Root("checkpoints"),
            ["Evaluator:CheckpointsRoot"] = _names.Root("checkpoints"),
            ["Evaluator:BenchmarksRoot"] = _names.Root("benchmarks"),
            ["Evaluator:Root"] = Path.Combine(_names.Top, "evaluations"),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    [Fact]
    public void Every_escaping_form_is_refused_and_plain_names_and_links_inside_the_root_resolve()
    {
        var root = _names.Root("models");
        foreach (var form in _names.Forms)
        {
            var e = Assert.Throws<PathEscapeException>(() => ConfinedPath.Resolve(root, form, "baseModel"));
            Assert.StartsWith("baseModel: ", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\0', e.Message);
        }

        Directory.CreateDirectory(Path.Combine(root, "family", "model-7b"));
        Directory.CreateSymbolicLink(Path.Combine(root, "alias"), Path.Combine(root, "family"));
        Assert.Equal(Path.Combine(root, "family", "model-7b"), ConfinedPath.Resolve(root, "family/model-7b", "baseModel"));
        Assert.Equal(Path.Combine(root, "alias", "model-7b"), ConfinedPath.Resolve(root, "alias/model-7b", "baseModel"));
        Assert.Equal(Path.Combine(root, "not-yet"), ConfinedPath.Resolve(root, "not-yet", "baseModel"));
    }

    [Fact]
    public async Task Training_requests_naming_a_base_model_or_dataset_outside_the_roots_get_400_naming_the_field()
    {
        foreach (var form in _names.Forms)
        {
            await ExpectBadRequestAsync("/api/training", new { runId = Guid.NewGuid(), datasetId = "ds-1", baseModel = form }, "baseModel", form);
            await ExpectBadRequestAsync("/api/training", new { runId = Guid.NewGuid(), datasetId = form, baseModel = "tiny" }, "datasetId", form);
        }

        await ExpectBadRequestAsync("/api/training", new { runId = Guid.NewGuid(), datasetId = "ds-1", baseModel = "absent-model" }, "baseModel", "absent");
    }

    [Fact]
    public async Task Evaluation_requests_naming_a_checkpoint_or_benchmark_outside_the_roots_get_400_naming_the_field()
    {
        var checkpoint = Directory.CreateDirectory(Path.Combine(_names.Root("checkpoints"), "job-1", "checkpoint-2")).FullName;
        await File.WriteAllTextAsync(Path.Combine(_names.Root("benchmarks"), "task.json"), "{}");
        foreach (var form in _names.Forms)
        {
            await ExpectBadRequestAsync("/api/evaluations", new { runId = Guid.NewGuid(), checkpointId = "c", location = form }, "location", form);
            await ExpectBadRequestAsync("/api/evaluations", new { runId = Guid.NewGuid(), checkpointId = "c", location = "job-1/checkpoint-2", benchmarks = new[] { $"bigbench:{form}" } }, "benchmarks[0]", form);
        }

        await ExpectBadRequestAsync("/api/evaluations", new { runId = Guid.NewGuid(), checkpointId = "c", location = "job-1/absent" }, "location", "absent");
        await ExpectBadRequestAsync("/api/evaluations", new { runId = Guid.NewGuid(), checkpointId = "c", location = "job-1/checkpoint-2", benchmarks = new[] { "bigbench" } }, "benchmarks[0]", "no kind");
        Assert.True(Directory.Exists(checkpoint));
        Assert.False(Directory.Exists(Path.Combine(_names.Top, "evaluations", "c")));
    }

    private async Task ExpectBadRequestAsync(string url, object body, string field, string form)
    {
        using var response = await _app.Client.PostAsJsonAsync(url, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url} with {field} = {form}: {(int)response.StatusCode} {text}");
        Assert.Contains(field, text, StringComparison.Ordinal);
    }
}
