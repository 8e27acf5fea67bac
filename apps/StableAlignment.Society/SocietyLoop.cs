using System.Globalization;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StableAlignment.Data;
using StableAlignment.Evaluator;
using StableAlignment.ModelServer;
using StableAlignment.Primitives;
using StableAlignment.Storage;

namespace StableAlignment.Society;

/// <summary>
/// The closed loop, offline and in one process, run by the same pipeline as on the bus: every service's library on the
/// in-memory bus (<see cref="StableAlignment.AgentRunner.LoopCoordinator"/> chains the phases), and the model-server
/// serving the base model and the trainer's checkpoints by name over the OpenAI API. One <see cref="StartSimulation"/>
/// with a <see cref="LoopStep"/> starts it: the checkpoint plays the social agents of a SANDBOX society (observer: the
/// local rater) → dataset-builder builds the run's data → the trainer trains Stable Alignment from that checkpoint →
/// its final checkpoint plays the next iteration. This class only watches the events, records the chain in
/// <c>loop.json</c>, scores each new checkpoint on held-out questions for the report, and after a crash announces the
/// last event it saw again (every service answers a repeat with the same outcome, never the work twice), so the same
/// command continues where the loop stopped.
/// </summary>
public sealed partial class SocietyLoop(SocietyModels models, string outDir, LoopRecipe options, Func<Action<IServiceCollection>, Dictionary<string, string?>, WebApplication> buildApp)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly MiniatureExperiment _evaluator = new(models, outDir, buildApp);

    /// <summary>What plays iteration 1: <see cref="LoopRecipe.Base"/>, or the society's pretrained agent.</summary>
    private string Start => options.Base is { } b ? Path.GetFullPath(b).TrimEnd(Path.DirectorySeparatorChar) : models.AgentCheckpoint;

    /// <summary>The trainer's root: one folder per training job, served by name as <c>checkpoints/</c> + location.</summary>
    private string Jobs => Path.Combine(outDir, "jobs");

    public string StatePath => Path.Combine(outDir, "loop.json");

    private string OutDir => outDir;

    private LoopRecipe Recipe => options;

    public static LoopState? ReadState(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<LoopState>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty (null).");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a readable loop state ({e.Message}).", e);
        }
    }

    public async Task<LoopState> RunAsync(IProgress<string> progress, CancellationToken ct)
    {
        Directory.CreateDirectory(outDir);
        var state = ReadState(StatePath) ?? new LoopState { LoopId = NewId.NextGuid(), Options = options };
        if (state.Options with { Iterations = options.Iterations } != options)
        {
            throw new InvalidOperationException($"{StatePath} was started with other options ({JsonSerializer.Serialize(state.Options)}); use another --out or the same options.");
        }

        state = state with { Options = options };
        var questions = SocietyData.Questions();
        if (state.BaseScores is null)
        {
            state.BaseScores = Evaluate("iteration 0 (base)", Start, questions, progress);
            Save(state);
        }

        if (!Finished(state))
        {
            await DriveAsync(state, questions, progress, ct);
        }

        Report(state);
        return state;
    }

    private bool Finished(LoopState state) => Enumerable.Range(1, options.Iterations).All(i => state.Iterations.Any(x => x.Iteration == i && x.Done));

    /// <summary>The run id of iteration <paramref name="k"/>: the one <see cref="StableAlignment.AgentRunner.LoopCoordinator"/> gives it.</summary>
    private static Guid RunIdOf(LoopState state, int k) => DeterministicGuid.Create($"loop/{state.LoopId}/{k}/run");

    /// <summary>Serves the models, starts the services, (re)starts the pipeline and follows its events until the last iteration is scored.</summary>
    private async Task DriveAsync(LoopState state, IReadOnlyList<SocietyQuestion> questions, IProgress<string> progress, CancellationToken ct)
    {
        await using var server = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?>
        {
            ["ModelServer:ModelsRoot"] = Path.GetDirectoryName(Start), ["ModelServer:CheckpointsRoot"] = Jobs,
            // The society's prompts are whole task prompts (the form the agent was pretrained on), so the models are served raw here.
            ["ModelServer:Template"] = "Raw", ["ModelServer:TruncateLongPrompts"] = "true",
        });
        await server.StartAsync(ct);
        await using var app = App(Settings(ModelServerHost.Endpoint(server)));
        await app.StartAsync(ct);
        var events = Channel.CreateUnbounded<object>();
        var handle = app.Services.GetRequiredService<IBus>().ConnectReceiveEndpoint(new TemporaryEndpointDefinition(), DefaultEndpointNameFormatter.Instance, e =>
        {
            void On<T>()
                where T : class => e.Handler<T>(c => events.Writer.WriteAsync(c.Message).AsTask());
            On<InteractionStored>();
            On<RunCompleted>();
            On<DatasetBuilt>();
            On<TrainModel>();
            On<TrainingProgressed>();
            On<CheckpointReady>();
            On<TrainingFailed>();
            On<Fault<StartSimulation>>();
            On<Fault<ResumeSimulation>>();
            On<Fault<BuildDataset>>();
            On<Fault<TrainModel>>();
        });
        await handle.Ready.WaitAsync(ct);
        try
        {
            var pipeline = new LoopPipeline(this, state, questions, app.Services, progress);
            await pipeline.ContinueAsync(ct);
            while (!Finished(state))
            {
                await pipeline.OnAsync(await events.Reader.ReadAsync(ct), ct);
            }
        }
        finally
        {
            await handle.StopAsync(CancellationToken.None);
        }

        await app.StopAsync(ct);
    }

    /// <summary>The app's settings: the local models, the loop's folders, and the social agents on the model-server (the external model listed by name).</summary>
    private Dictionary<string, string?> Settings(Uri modelServer)
    {
        var settings = MiniatureExperiment.AppSettings(Path.Combine(outDir, "store.db"));
        settings["Datasets:Root"] = Path.Combine(outDir, "datasets");
        settings["Datasets:BuildOnRunCompleted"] = "true";
        settings["Trainer:Root"] = Jobs;
        settings["Trainer:DatasetsRoot"] = Path.Combine(outDir, "datasets");
        settings["Trainer:ReceivedDatasets"] = Path.Combine(outDir, "received");
        settings["Trainer:ModelsRoot"] = Path.GetDirectoryName(Start);
        settings["Evaluator:Root"] = Path.Combine(outDir, "evaluations");
        settings["Evaluator:CheckpointsRoot"] = Jobs;
        settings["Models:Roles:SocialAgent:Provider"] = "OpenAI";
        settings["Models:Roles:SocialAgent:Endpoint"] = modelServer.ToString();
        settings["Models:Roles:SocialAgent:Model"] = Path.GetFileName(Start);
        settings["Models:Roles:SocialAgent:ApiKey"] = "none";
        settings["Models:Roles:SocialAgent:MaxTokens"] = options.MaxNewTokens.ToString(CultureInfo.InvariantCulture);
        settings["Models:TimeoutSeconds"] = "900";
        if (options.ExternalShare > 0)
        {
            settings["Models:SocialAgents:0:Endpoint"] = options.ExternalEndpoint;
            settings["Models:SocialAgents:0:Model"] = options.ExternalModel;
            settings["Models:SocialAgents:0:ApiKey"] = options.ExternalApiKey ?? "none";
        }

        return settings;
    }

    /// <summary>An iteration's numbers from its run's records: ratings, invalid ones, the observer's alignment before and after, by model.</summary>
    private static void Measure(LoopIteration it, IReadOnlyList<InteractionRecord> records)
    {
        var completed = records.Where(r => r.Status == InteractionStatus.Completed).ToList();
        var ratings = completed.SelectMany(r => new[] { r.DraftAlignment, r.DraftEngagement, r.RevisedAlignment, r.RevisedEngagement }.Concat(r.Peers.Select(p => p.Rating))).OfType<Rating>().ToList();
        it.Interactions = records.Count;
        it.Ratings = ratings.Count;
        it.InvalidRatings = ratings.Count(r => !r.IsValid);
        it.AlignmentBefore = Mean(completed.Select(r => r.DraftAlignment));
        it.AlignmentAfter = Mean(completed.Select(r => r.RevisedAlignment));
        it.Groups = [.. completed.GroupBy(r => r.SocialModel ?? "?").OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new GroupAlignment(g.Key, g.Count(), Mean(g.Select(r => r.DraftAlignment)), Mean(g.Select(r => r.RevisedAlignment))))];
    }

    /// <summary>The held-out scores of a checkpoint or model folder, prompted with its recorded template and read with its own tokenizer.</summary>
    private ModelScores Evaluate(string name, string path, IReadOnlyList<SocietyQuestion> questions, IProgress<string> progress)
    {
        using var model = Checkpoints.LoadModel(path);
        var template = Checkpoints.Latest(path) is { } checkpoint ? Checkpoints.ReadState(checkpoint).Options.PromptTemplate : null;
        return _evaluator.Evaluate(name, model, template, Checkpoints.TokenizerFor(path), questions, options.Seed, progress);
    }

    private WebApplication App(Dictionary<string, string?> settings) =>
        buildApp(s => s.AddSingleton<StableAlignment.Models.ILocalModelProvider>(models), settings);

    private void Save(LoopState state) => AtomicFile.WriteAllText(StatePath, JsonSerializer.Serialize(state, Json));

    private static Estimate Mean(IEnumerable<Rating?> ratings) =>
        Estimate.Mean([.. ratings.Where(r => r is { IsValid: true, Score: not null }).Select(r => (double)r!.Score!.Value)]);

    private string Short(string path) => Path.GetRelativePath(outDir, path) is { } rel && !rel.StartsWith("..", StringComparison.Ordinal) ? rel : path;

}
