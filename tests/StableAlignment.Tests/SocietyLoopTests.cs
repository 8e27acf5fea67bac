using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StableAlignment.Models;
using StableAlignment.SingleProcess;
using StableAlignment.Society;

namespace StableAlignment.Tests;

/// <summary><c>sa loop</c>: the services' pipeline (LoopCoordinator) on the in-memory bus, two iterations of a tiny society, each played by the checkpoint the model-server serves by name.</summary>
public sealed class SocietyLoopTests
{
    /// <summary>A tiny pretrained agent (a few steps of the bundled curriculum) and the local rater, in a fresh folder.</summary>
    private static async Task<SocietyModels> TinyModelsAsync(string folder, CancellationToken ct)
    {
        var questions = SocietyData.Questions();
        var prompts = new PromptOptions();
        var train = new TrainOptions
        {
            Base = "tiny", Epochs = 1, MaxSteps = 3, Accumulation = 1, MaxLength = 256, Seed = 1, CheckpointEvery = 100,
            Loss = new LossOptions { Kind = LossKind.Sft }, PromptTemplate = prompts.Draft,
        };
        await new ModelTrainer(train, new ByteTokenizer()).RunAsync(SocietyModels.AgentCurriculum(questions, prompts), Path.Combine(folder, "agent"), "curriculum", ct: ct);
        var rater = LocalRater.Train(questions.Where(q => !q.Heldout).SelectMany(q => q.Answers).Select(a => (a.Text, a.Rating)));
        var (agent, _) = Checkpoints.Load(Path.Combine(folder, "agent"));
        return new SocietyModels(folder, agent, rater, new SocietyModelOptions { MaxNewTokens = 24 });
    }

    /// <summary>The tiny models in a fresh folder, and the loop run there once with <paramref name="options"/>.</summary>
    private static async Task<(SocietyModels Models, string OutDir, LoopState State)> RunFreshAsync(string name, LoopRecipe options, CancellationToken ct)
    {
        var folder = TestConfiguration.TempPath(name);
        var models = await TinyModelsAsync(Path.Combine(folder, "models"), ct);
        var outDir = Path.Combine(folder, "loop");
        return (models, outDir, await new SocietyLoop(models, outDir, options, App).RunAsync(new Progress<string>(), ct));
    }

    private static WebApplication App(Action<IServiceCollection> services, Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Bus:Transport"] = "InMemory", ["Storage:Provider"] = "Embedded" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddAllServices();
        services(builder.Services);
        var app = builder.Build();
        app.MapAllServices();
        return app;
    }

    [Fact]
    public async Task Two_iterations_chain_run_dataset_checkpoint_and_scores_and_the_second_society_is_played_by_the_first_checkpoint_over_the_API()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = new LoopRecipe { Iterations = 2, GridSize = 2, Rounds = 1, TrainEpochs = 1, MaxNewTokens = 24 };
        var (models, outDir, state) = await RunFreshAsync("loop", options, ct);

        Assert.Equal(2, state.Iterations.Count);
        Assert.NotNull(state.BaseScores);
        var (first, second) = (state.Iterations[0], state.Iterations[1]);
        Assert.Equal(models.AgentCheckpoint, first.Checkpoint);
        Assert.Equal(first.TrainedCheckpoint, second.Checkpoint);
        Assert.Equal(first.Checkpoint, second.PreviousCheckpoint);
        Assert.NotEqual(first.RunId, second.RunId);
        // The services ran the loop: iteration 2's run is the one the coordinator started from iteration 1's final checkpoint.
        Assert.Equal(StableAlignment.Storage.DeterministicGuid.Create($"loop/{state.LoopId}/2/run"), second.RunId);
        Assert.Equal(first.TrainedCheckpoint, Path.Combine(outDir, "jobs", first.Final!.Location));
        using (var store = new EmbeddedStore(Path.Combine(outDir, "store.db")))
        {
            foreach (var it in state.Iterations)
            {
                Assert.True(it.Done);
                Assert.Equal(4, it.Interactions);
                // run → dataset: the manifest names the run; dataset → checkpoint: the checkpoint's state names the dataset.
                var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "datasets", it.DatasetId!, "manifest.json"), ct))!;
                Assert.Equal(it.DatasetId, (string?)manifest["datasetId"]);
                Assert.Equal(it.RunId!.Value.ToString(), (string?)manifest["runIds"]![0]);
                Assert.Equal(it.DatasetId, Checkpoints.ReadState(it.TrainedCheckpoint!).DatasetId);
                Assert.StartsWith(Path.Combine(outDir, "jobs"), it.TrainedCheckpoint, StringComparison.Ordinal);
                Assert.Equal(it.Iteration, it.Final!.Loop!.Iteration);
                // The dataset reached the trainer once, by the location DatasetBuilt names (no triplet batches in one process).
                Assert.Equal((it.DatasetId, 0), (it.Dataset!.Location, it.Dataset.Batches));
                Assert.Equal(it.RunId, it.Training!.RunId);

                // The drafts came through the model server, which served each checkpoint by name: the records name it and carry its token counts.
                var served = it.Iteration == 1 ? "agent" : LoopStep.CheckpointPrefix + first.Final.Location.Replace('\\', '/');
                var records = await store.Interactions.ListByRunAsync(it.RunId!.Value, ct);
                Assert.Equal(4, records.Count);
                Assert.All(records, r =>
                {
                    Assert.Equal(served, r.SocialModel);
                    Assert.Contains(r.Tokens, t => t.Model == served && t.PromptTokens > 0 && t.CompletionTokens > 0);
                });
            }
        }

        Assert.False(Directory.Exists(Path.Combine(outDir, "received")));
        var report = await File.ReadAllTextAsync(Path.Combine(outDir, "loop-report.md"), ct);
        Assert.Contains(second.RunId!.Value.ToString(), report, StringComparison.Ordinal);
        Assert.Contains("Leaderboard over iterations", report, StringComparison.Ordinal);
        Assert.True(new FileInfo(Path.Combine(outDir, "loop.png")).Length > 1000);

        // The same command again finds everything done and changes nothing.
        var again = await new SocietyLoop(models, outDir, options, App).RunAsync(new Progress<string>(), ct);
        Assert.Equal(state.Iterations.Select(i => (i.RunId, i.DatasetId, i.TrainedCheckpoint)), again.Iterations.Select(i => (i.RunId, i.DatasetId, i.TrainedCheckpoint)));
    }

    [Theory]
    [InlineData("simulating (")]
    [InlineData("training")]
    public async Task A_loop_stopped_mid_phase_continues_with_the_same_run_and_stores_each_interaction_once(string stopAt)
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = TestConfiguration.TempPath("loop-resume");
        var models = await TinyModelsAsync(Path.Combine(folder, "models"), ct);
        var options = new LoopRecipe { Iterations = 1, GridSize = 3, Rounds = 2, TrainEpochs = 1, MaxNewTokens = 24 };
        var outDir = Path.Combine(folder, "loop");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var progress = new SynchronousProgress(s =>
        {
            // Mid-simulation: once some interaction is stored and before the last one is.
            var at = s.IndexOf(stopAt, StringComparison.Ordinal);
            if (at >= 0 && (stopAt != "simulating (" || s[(at + stopAt.Length)..].Split('/')[0] is not ("0" or "18")))
            {
                stop.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new SocietyLoop(models, outDir, options, App).RunAsync(progress, stop.Token));
        var stopped = SocietyLoop.ReadState(Path.Combine(outDir, "loop.json"))!;
        Assert.NotNull(stopped.Iterations[0].RunId);
        Assert.Null(stopped.Iterations[0].Scores);

        var resumed = await new SocietyLoop(models, outDir, options, App).RunAsync(new Progress<string>(), ct);
        var it = resumed.Iterations.Single();
        Assert.Equal(stopped.Iterations[0].RunId, it.RunId);
        Assert.True(it.Done);
        Assert.Equal(18, it.Interactions);
        using (var store = new EmbeddedStore(Path.Combine(outDir, "store.db")))
        {
            var records = await store.Interactions.ListByRunAsync(it.RunId!.Value, ct);
            Assert.Equal(18, records.Select(r => (r.Round, r.AgentId)).Distinct().Count());
            Assert.Equal(18, records.Count);
        }

        Assert.Throws<InvalidOperationException>(() => new SocietyLoop(models, outDir, options with { GridSize = 4 }, App).RunAsync(new Progress<string>(), ct).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task A_finished_loop_run_again_with_more_iterations_continues_from_its_last_checkpoint()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = new LoopRecipe { Iterations = 1, GridSize = 2, Rounds = 1, TrainEpochs = 1, MaxNewTokens = 16 };
        var (models, outDir, one) = await RunFreshAsync("loop-more", options, ct);
        Assert.Equal(1, one.Iterations.Single().Final!.Loop!.Iterations);

        // The coordinator stopped after iteration 1 (its step said 1 of 1); the loop announces that checkpoint again
        // with the new count, and the coordinator starts iteration 2 from it.
        var two = await new SocietyLoop(models, outDir, options with { Iterations = 2 }, App).RunAsync(new Progress<string>(), ct);
        Assert.Equal(2, two.Iterations.Count);
        Assert.All(two.Iterations, i => Assert.True(i.Done));
        Assert.Equal(one.Iterations[0].TrainedCheckpoint, two.Iterations[0].TrainedCheckpoint);
        Assert.Equal(two.Iterations[0].TrainedCheckpoint, two.Iterations[1].Checkpoint);
        Assert.Equal(StableAlignment.Storage.DeterministicGuid.Create($"loop/{two.LoopId}/2/run"), two.Iterations[1].RunId);
        Assert.Equal(4, two.Iterations[1].Interactions);
    }

    [Fact]
    public async Task An_external_model_plays_its_share_of_the_society_and_the_report_shows_each_model()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = TestConfiguration.TempPath("loop-mixed");
        var models = await TinyModelsAsync(Path.Combine(folder, "models"), ct);
        await using var external = await StubModelServer.StartAsync();
        var options = new LoopRecipe { Iterations = 1, GridSize = 3, Rounds = 1, TrainEpochs = 1, MaxNewTokens = 16, ExternalEndpoint = external.Endpoint, ExternalModel = "external-api", ExternalShare = 0.4 };
        Assert.Null(options.Problem());
        var outDir = Path.Combine(folder, "loop");
        var state = await new SocietyLoop(models, outDir, options, App).RunAsync(new Progress<string>(), ct);

        var groups = state.Iterations.Single().Groups.ToDictionary(g => g.Model, g => g.Interactions);
        Assert.Equal(["agent", "external-api"], groups.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(9, groups.Values.Sum());
        Assert.True(groups["external-api"] is >= 1 and <= 8, $"the external model played {groups["external-api"]} of 9 agents");
        Assert.True(external.Requests > 0);
        var report = await File.ReadAllTextAsync(Path.Combine(outDir, "loop-report.md"), ct);
        Assert.Contains("The mixed society, by the model playing each agent", report, StringComparison.Ordinal);
        Assert.Contains("| 1 | external-api |", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_loop_can_start_from_a_Hugging_Face_folder_without_the_local_agent()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = TestConfiguration.TempPath("loop-hf");
        var trained = Path.Combine(folder, "trained");
        await new ModelTrainer(new TrainOptions { Base = "tiny", Epochs = 1, MaxSteps = 2, Accumulation = 1, MaxLength = 128, CheckpointEvery = 100 }, new ByteTokenizer())
            .RunAsync([new RatedGroup("Is honesty good?", ["Yes.", "No."], [7, 1])], trained, "ds", ct: ct);
        var hf = Path.Combine(folder, "hf-model");
        using (var model = Checkpoints.LoadModel(trained))
        {
            HuggingFace.Save(model, new ByteTokenizer(), hf);
        }

        var questions = SocietyData.Questions();
        var rater = LocalRater.Train(questions.Where(q => !q.Heldout).SelectMany(q => q.Answers).Select(a => (a.Text, a.Rating)));
        var models = new SocietyModels(Path.Combine(folder, "models"), null, rater, new SocietyModelOptions());
        var options = new LoopRecipe { Iterations = 1, GridSize = 2, Rounds = 1, TrainEpochs = 1, MaxNewTokens = 16, Base = hf };
        var state = await new SocietyLoop(models, Path.Combine(folder, "loop"), options, App).RunAsync(new Progress<string>(), ct);

        var it = state.Iterations.Single();
        Assert.Equal(hf, it.Checkpoint);
        Assert.NotNull(state.BaseScores);
        Assert.Equal(hf, Checkpoints.ReadState(it.TrainedCheckpoint!).Options.Base);
        Assert.Equal(4, it.Interactions);
        Assert.All(it.Groups, g => Assert.Equal("hf-model", g.Model));
    }

    [Theory]
    [InlineData(0, 0.0, 0.0, "--iterations")]
    [InlineData(2, 1.0, 0.0, "--previous-share")]
    [InlineData(2, 0.6, 0.5, "leave a share")]
    [InlineData(2, 0.0, 0.3, "--external-endpoint")]
    public void Loop_options_that_cannot_work_are_named(int iterations, double previous, double external, string named)
    {
        var problem = new LoopRecipe { Iterations = iterations, PreviousShare = previous, ExternalShare = external, ExternalEndpoint = external > 0 && named != "--external-endpoint" ? "http://x/v1" : null }.Problem();
        Assert.NotNull(problem);
        Assert.Contains(named, problem, StringComparison.Ordinal);
    }

    private sealed class SynchronousProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
