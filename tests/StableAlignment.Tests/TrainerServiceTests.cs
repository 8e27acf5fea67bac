using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.Trainer;

namespace StableAlignment.Tests;

public sealed class TrainerServiceTests
{
    [Fact]
    public async Task Restarted_trainer_resumes_its_job_from_the_last_checkpoint()
    {
        var datasets = TestConfiguration.TempPath("svc-datasets");
        var jobs = TestConfiguration.TempPath("svc-jobs");
        Directory.CreateDirectory(Path.Combine(datasets, "ds-svc"));
        await File.WriteAllTextAsync(Path.Combine(datasets, "ds-svc", "train.authors.json"), JsonSerializer.Serialize(
            Enumerable.Range(0, 6).Select(i => new { query = $"### Instruction:\nQuestion {i}?\n\n### Response:", responses = new[] { $"Kind answer {i}.", $"Rude answer {i}." }, scores = new[] { 7, 1 } })));
        var settings = new Dictionary<string, string?> { ["Trainer:Root"] = jobs, ["Trainer:DatasetsRoot"] = datasets, ["Trainer:Threads"] = "1" };
        var request = new TrainModel { RunId = Guid.NewGuid(), DatasetId = DatasetId.Parse("ds-svc"), Epochs = 40, CheckpointEvery = 5, LearningRate = 1e-3 };
        var folder = Path.Combine(jobs, JobId.Of(request));

        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, settings);
        var runner = app.Services.GetRequiredService<TrainingRunner>();
        await app.Bus.Publish(request);
        await Eventually.ReturnsAsync(() => Task.FromResult(Checkpoints.Latest(folder)), c => c is not null, TimeSpan.FromSeconds(60));

        // The trainer stops mid-job (as a service shutting down does) and starts again: it finds the unfinished job.
        await runner.StopAsync(CancellationToken.None);
        var stoppedAt = Checkpoints.ReadState(Checkpoints.Latest(folder)!).Step;
        Assert.False(File.Exists(Path.Combine(folder, "done")));
        Assert.InRange(stoppedAt, 5, 35);
        await runner.StartAsync(CancellationToken.None);
        await Eventually.ReturnsAsync(() => Task.FromResult(File.Exists(Path.Combine(folder, "done"))), done => done, TimeSpan.FromSeconds(120));

        var final = Checkpoints.ReadState(Checkpoints.Latest(folder)!);
        Assert.Equal(40, final.Step);
        var steps = File.ReadLines(Path.Combine(folder, "metrics.jsonl")).Select(l => JsonSerializer.Deserialize<StepMetrics>(l)!.Step).ToList();
        Assert.Equal(Enumerable.Range(1, 40), steps);
        Assert.True(File.Exists(Path.Combine(folder, "metrics.png")));
    }

    [Fact]
    public async Task A_repeated_request_for_a_finished_job_announces_its_final_checkpoint_again_with_the_same_message_id_and_trains_nothing()
    {
        var datasets = TestConfiguration.TempPath("svc-datasets");
        var jobs = TestConfiguration.TempPath("svc-jobs");
        Directory.CreateDirectory(Path.Combine(datasets, "ds-again"));
        await File.WriteAllTextAsync(Path.Combine(datasets, "ds-again", "train.authors.json"), JsonSerializer.Serialize(
            Enumerable.Range(0, 4).Select(i => new { query = $"### Instruction:\nQuestion {i}?\n\n### Response:", responses = new[] { $"Kind answer {i}.", $"Rude answer {i}." }, scores = new[] { 7, 1 } })));
        var settings = new Dictionary<string, string?> { ["Trainer:Root"] = jobs, ["Trainer:DatasetsRoot"] = datasets, ["Trainer:Threads"] = "1" };
        var request = new TrainModel { RunId = Guid.NewGuid(), DatasetId = DatasetId.Parse("ds-again"), Epochs = 2, CheckpointEvery = 100 };
        var folder = Path.Combine(jobs, JobId.Of(request));

        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub, settings);
        var announced = new System.Collections.Concurrent.ConcurrentQueue<(Guid? MessageId, CheckpointReady Message)>();
        var handle = app.Bus.ConnectReceiveEndpoint($"test-checkpoints-{Guid.NewGuid():N}", e => e.Handler<CheckpointReady>(c =>
        {
            announced.Enqueue((c.MessageId, c.Message));
            return Task.CompletedTask;
        }));
        await handle.Ready;
        await app.Bus.Publish(request);
        await Eventually.ReturnsAsync(() => Task.FromResult(File.Exists(Path.Combine(folder, "done")) && announced.Any(a => a.Message.Final)), done => done, TimeSpan.FromSeconds(120));
        var first = announced.Single(a => a.Message.Final);
        var steps = File.ReadAllLines(Path.Combine(folder, "metrics.jsonl")).Length;

        await app.Bus.Publish(request);
        await Eventually.ReturnsAsync(() => Task.FromResult(announced.Count(a => a.Message.Final)), n => n == 2, TimeSpan.FromSeconds(30));
        var again = announced.Where(a => a.Message.Final).Last();
        Assert.Equal(first.MessageId, again.MessageId);
        Assert.Equal(first.Message.CheckpointId, again.Message.CheckpointId);
        Assert.Equal(first.Message.Location, again.Message.Location);
        Assert.Equal(steps, File.ReadAllLines(Path.Combine(folder, "metrics.jsonl")).Length);
        await handle.StopAsync();
    }
}
