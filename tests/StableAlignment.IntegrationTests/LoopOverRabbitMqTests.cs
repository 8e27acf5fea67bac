using MassTransit;
using StableAlignment.Data;
using StableAlignment.Learning;
using StableAlignment.Society;

namespace StableAlignment.IntegrationTests;

/// <summary>
/// The closed loop as a pipeline on the real broker, every service its own process: one StartSimulation with a
/// two-iteration LoopStep; agent-runner's social agents are played by the model-server, which loads each checkpoint by
/// name; dataset-builder, trainer and evaluator do the rest, and agent-runner starts iteration 2 from iteration 1's
/// final checkpoint.
/// </summary>
public sealed class LoopOverRabbitMqTests(InfrastructureFixture fixture)
{
    private const string InternalKey = "loop-internal-key";

    [Fact]
    public async Task One_start_runs_two_iterations_and_the_second_society_is_played_by_the_first_checkpoint_through_the_model_server()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = TestConfiguration.TempPath("loop-bus");
        var rabbitMqUri = fixture.Infrastructure.RabbitMqUri;

        // The base agent: a few steps of the bundled curriculum, as a folder under the models root that trainer and model-server share.
        var questions = SocietyData.Questions();
        var prompts = new StableAlignment.Models.PromptOptions();
        await new ModelTrainer(new TrainOptions
        {
            Base = "tiny", Epochs = 1, MaxSteps = 3, Accumulation = 1, MaxLength = 256, Seed = 1, CheckpointEvery = 100,
            Loss = new LossOptions { Kind = LossKind.Sft }, PromptTemplate = prompts.Draft,
        }, new ByteTokenizer()).RunAsync(SocietyModels.AgentCurriculum(questions, prompts), Path.Combine(root, "models", "agent"), "curriculum", ct: ct);
        Directory.CreateDirectory(Path.Combine(root, "benchmarks"));
        File.Copy(RepositoryRoot.Combine("data", "benchmarks", "society-choice.json"), Path.Combine(root, "benchmarks", "society-choice.json"));

        await using var stub = await StubModelServer.StartAsync();
        stub.ScriptByPrompt();
        await using var modelServer = await ServiceProcess.StartAsync("ModelServer", new Dictionary<string, string>
        {
            ["ModelServer__ModelsRoot"] = Path.Combine(root, "models"),
            ["ModelServer__CheckpointsRoot"] = Path.Combine(root, "jobs"),
            ["ModelServer__Template"] = "Raw",
            ["ModelServer__Threads"] = "1",
            ["ModelServer__TruncateLongPrompts"] = "true",
        });
        var common = new Dictionary<string, string>
        {
            ["Bus__Transport"] = "RabbitMq", ["Bus__RabbitMqUri"] = rabbitMqUri, ["Internal__Key"] = InternalKey,
            ["Storage__Provider"] = "MongoDb", ["Storage__ConnectionString"] = fixture.Infrastructure.MongoUri,
            ["Models__Default__Endpoint"] = stub.Endpoint, ["Models__Default__Model"] = "stub-model",
            ["Models__Roles__SocialAgent__Endpoint"] = new Uri(modelServer.BaseAddress, "v1").ToString(),
            ["Models__Roles__SocialAgent__Model"] = "agent", ["Models__Roles__SocialAgent__MaxTokens"] = "24",
            ["Models__TimeoutSeconds"] = "120",
            ["Datasets__Root"] = Path.Combine(root, "datasets"),
            ["Trainer__Root"] = Path.Combine(root, "jobs"), ["Trainer__DatasetsRoot"] = Path.Combine(root, "datasets"),
            ["Trainer__ModelsRoot"] = Path.Combine(root, "models"), ["Trainer__Threads"] = "1",
            ["Evaluator__Root"] = Path.Combine(root, "evaluations"), ["Evaluator__CheckpointsRoot"] = Path.Combine(root, "jobs"),
            ["Evaluator__BenchmarksRoot"] = Path.Combine(root, "benchmarks"), ["Evaluator__Benchmarks__0"] = "bigbench:society-choice.json", ["Evaluator__Limit"] = "4",
        };
        var database = $"loop-{Guid.NewGuid():N}";
        var services = new List<ServiceProcess>();
        await using var checkpoints = await AmqpWatch.StartAsync(rabbitMqUri, "StableAlignment.Contracts:CheckpointReady", m => m["loop"] is not null);
        await using var evaluations = await AmqpWatch.StartAsync(rabbitMqUri, "StableAlignment.Contracts:EvaluationCompleted", _ => true);
        await using var completions = await AmqpWatch.StartAsync(rabbitMqUri, "StableAlignment.Contracts:RunCompleted", _ => true);
        await using var datasets = await AmqpWatch.StartAsync(rabbitMqUri, "StableAlignment.Contracts:DatasetBuilt", _ => true);
        try
        {
            foreach (var name in new[] { "MemoryStore", "AgentRunner", "ObserverRater", "DatasetBuilder", "Trainer", "Evaluator" })
            {
                services.Add(await ServiceProcess.StartAsync(name, new Dictionary<string, string>(common) { ["Storage__Database"] = $"{database}-{name}" }));
            }

            using var bus = new BusHandle(rabbitMqUri);
            await bus.StartAsync(ct);
            var loopId = Guid.NewGuid();
            var firstRun = Guid.NewGuid();
            await bus.Bus.Publish(new StartSimulation
            {
                RunId = firstRun, GridSize = 2, Rounds = 1, InitialSetting = InitialSetting.MixedHalfHalf, Seed = 3, SeedMemories = 2,
                Questions = [.. questions.Where(q => !q.Heldout).Take(8).Select(q => q.Question)],
                Prior = PriorFile.Load(Path.Combine(SocietyData.Folder, "prior.jsonl")),
                SocialAgentModels = [new SocialAgentChoice { Model = "agent", Share = 1 }],
                Loop = new LoopStep { LoopId = loopId, Iteration = 1, Iterations = 2, Checkpoint = "agent", TrainEpochs = 1, TrainMaxSteps = 2, TrainAccumulation = 1 },
            }, ct);

            var final = await Eventually.ReturnsAsync(() => Task.FromResult(checkpoints.Messages.Where(m => m["final"]?.GetValue<bool>() == true).ToList()),
                l => l.Count >= 2, TimeSpan.FromMinutes(8));
            var detail = string.Join("\n", services.Select(s => $"--- {s.Name}\n{Tail(s.Output)}")) + $"\n--- ModelServer\n{Tail(modelServer.Output)}";
            Assert.True(final.Count >= 2, $"final checkpoints: {final.Count}\n{detail}");
            var byIteration = final.GroupBy(m => m["loop"]!["iteration"]!.GetValue<int>()).ToDictionary(g => g.Key, g => g.First());
            Assert.Equal([1, 2], byIteration.Keys.Order());
            var (one, two) = (byIteration[1], byIteration[2]);
            Assert.Equal(firstRun.ToString(), one["runId"]!.GetValue<string>());
            Assert.Equal("agent", one["baseModel"]!.GetValue<string>());

            // Iteration 2 trained from iteration 1's checkpoint, on the data of a run agent-runner started itself.
            var firstLocation = one["location"]!.GetValue<string>();
            Assert.Equal(LoopStep.CheckpointPrefix + firstLocation, two["baseModel"]!.GetValue<string>());
            Assert.Equal(LoopStep.CheckpointPrefix + firstLocation, two["loop"]!["checkpoint"]!.GetValue<string>());
            var secondRun = Guid.Parse(two["runId"]!.GetValue<string>());
            Assert.Equal(DeterministicGuid.Create($"loop/{loopId}/2/run"), secondRun);
            var secondDataset = datasets.Messages.Single(m => m["runId"]!.GetValue<string>() == secondRun.ToString())["datasetId"]!.GetValue<string>();
            Assert.Equal(secondDataset, two["datasetId"]!.GetValue<string>());
            Assert.Equal(secondDataset, Checkpoints.ReadState(Path.Combine(root, "jobs", two["location"]!.GetValue<string>())).DatasetId);

            // The second society's drafts came from that checkpoint through the model-server's API.
            var memory = await MongoStore.OpenAsync(fixture.Infrastructure.MongoUri, $"{database}-MemoryStore");
            var records = await memory.Interactions.ListByRunAsync(secondRun, ct);
            Assert.Equal(4, records.Count);
            Assert.All(records, r => Assert.Equal(LoopStep.CheckpointPrefix + firstLocation, r.SocialModel));
            Assert.All(records, r => Assert.Contains(r.Tokens, t => t.Model == LoopStep.CheckpointPrefix + firstLocation && t.CompletionTokens > 0));
            Assert.Equal(2, completions.Messages.Select(m => m["runId"]!.GetValue<string>()).Distinct().Count());

            // Each iteration's checkpoint was evaluated (CheckpointReady → EvaluationCompleted).
            var evaluated = await Eventually.ReturnsAsync(() => Task.FromResult(evaluations.Messages.Select(m => m["checkpointId"]?.GetValue<string>()).ToHashSet()),
                ids => final.All(f => ids.Contains(f["checkpointId"]!.GetValue<string>())), TimeSpan.FromMinutes(3));
            Assert.All(final, f => Assert.Contains(f["checkpointId"]!.GetValue<string>(), evaluated));
            Assert.Equal(2, final.Select(f => f["checkpointId"]!.GetValue<string>()).Distinct().Count());
        }
        finally
        {
            foreach (var s in services)
            {
                await s.DisposeAsync();
            }
        }
    }

    private static string Tail(string output) => string.Join("\n", output.Split('\n').TakeLast(15));

    /// <summary>A bare bus client on the broker, publishing as any pipeline would.</summary>
    private sealed class BusHandle(string uri) : IDisposable
    {
        public IBusControl Bus { get; } = MassTransit.Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(new Uri(uri)));

        public Task StartAsync(CancellationToken ct) => Bus.StartAsync(ct);

        public void Dispose() => Bus.Stop();
    }
}
