using System.Globalization;
using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ScottPlot;
using StableAlignment.Data;
using StableAlignment.Evaluator;
using StableAlignment.ModelServer;
using StableAlignment.Primitives;
using StableAlignment.SingleProcess;
using StableAlignment.Storage;

namespace StableAlignment.Society;

/// <summary>How the agents played by one model did in one run (valid observer ratings, 1–7).</summary>
public sealed record GroupAlignment(string Model, int Interactions, Estimate Before, Estimate After);

/// <summary>One iteration's chain: the checkpoint that played the society → its run → the dataset → the checkpoint trained → its scores.</summary>
public sealed record LoopIteration
{
    public required int Iteration { get; init; }

    /// <summary>The checkpoint that played the society (and the base of this iteration's training).</summary>
    public required string Checkpoint { get; init; }

    public string? PreviousCheckpoint { get; init; }

    public Guid? RunId { get; set; }
    public bool Simulated { get; set; }
    public int Interactions { get; set; }
    public int Ratings { get; set; }
    public int InvalidRatings { get; set; }
    public Estimate? AlignmentBefore { get; set; }
    public Estimate? AlignmentAfter { get; set; }
    public List<GroupAlignment> Groups { get; set; } = [];
    public string? DatasetId { get; set; }
    public long Samples { get; set; }
    public string? TrainedCheckpoint { get; set; }
    public ModelScores? Scores { get; set; }

    [JsonIgnore]
    public bool Done => Scores is not null;
}

/// <summary>loop.json: the loop's id, its options and every iteration so far; rewritten atomically after each phase.</summary>
public sealed record LoopState
{
    public required Guid LoopId { get; init; }
    public required LoopRecipe Options { get; init; }
    public ModelScores? BaseScores { get; set; }
    public List<LoopIteration> Iterations { get; init; } = [];
}

/// <summary>
/// The closed loop, offline and in one process. Each iteration serves the current checkpoint over the OpenAI API
/// (<see cref="ModelServerHost"/>, batched), lets it play the social agents of a SANDBOX society (observer: the local
/// rater), builds the alignment data from the run, trains Stable Alignment from the current checkpoint on them, and
/// evaluates the new checkpoint on held-out questions; the next iteration is played by the new checkpoint. Every phase
/// is recorded in <c>loop.json</c> when it ends, so the same command after a crash continues where it stopped (a
/// simulation in progress is resumed, a training run continues from its last checkpoint).
/// </summary>
public sealed class SocietyLoop(SocietyModels models, string outDir, LoopRecipe options, Func<Action<IServiceCollection>, Dictionary<string, string?>, WebApplication> buildApp)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly MiniatureExperiment _evaluator = new(models, outDir, buildApp);

    /// <summary>What plays iteration 1: <see cref="LoopRecipe.Base"/>, or the society's pretrained agent.</summary>
    private string Start => options.Base is { } b ? Path.GetFullPath(b) : models.AgentCheckpoint;

    public string StatePath => Path.Combine(outDir, "loop.json");

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

        for (var i = 1; i <= options.Iterations; i++)
        {
            var it = state.Iterations.FirstOrDefault(x => x.Iteration == i);
            if (it is null)
            {
                var before = state.Iterations.SingleOrDefault(x => x.Iteration == i - 1);
                it = new LoopIteration
                {
                    Iteration = i,
                    Checkpoint = before?.TrainedCheckpoint ?? Start,
                    PreviousCheckpoint = before?.Checkpoint,
                };
                state.Iterations.Add(it);
                Save(state);
            }

            if (!it.Done)
            {
                await RunIterationAsync(state, it, questions, progress, ct);
            }
        }

        Report(state);
        return state;
    }

    private async Task RunIterationAsync(LoopState state, LoopIteration it, IReadOnlyList<SocietyQuestion> questions, IProgress<string> progress, CancellationToken ct)
    {
        var folder = Directory.CreateDirectory(Path.Combine(outDir, $"iteration-{it.Iteration}")).FullName;
        var name = $"iteration {it.Iteration}";
        if (!it.Simulated)
        {
            await SimulateAsync(state, it, folder, questions, progress, ct);
        }

        if (it.DatasetId is null)
        {
            progress.Report($"{name}: building the alignment data from run {it.RunId}");
            await using var app = App(folder, []);
            await app.StartAsync(ct);
            var manifest = await LocalPipeline.BuildAsync(app.Services, it.RunId!.Value, Path.Combine(folder, "dataset"), options.Seed, ct);
            await app.StopAsync(ct);
            it.DatasetId = manifest.DatasetId;
            it.Samples = manifest.Stats.KeptTrain.Values.Sum();
            Save(state);
        }

        if (it.TrainedCheckpoint is null)
        {
            progress.Report($"{name}: training Stable Alignment from {Short(it.Checkpoint)} on {it.DatasetId}");
            var recipe = TrainingRecipe.Society with { Epochs = options.TrainEpochs, Seed = options.Seed + it.Iteration };
            var train = TrainOptions.From(recipe, it.Checkpoint, threads: 0) with { PromptTemplate = MiniatureExperiment.AlpacaTemplate };
            var run = await new ModelTrainer(train, Checkpoints.TokenizerFor(it.Checkpoint)).RunAsync(TrainingData.Load(Path.Combine(folder, "dataset")), Path.Combine(folder, "train"), it.DatasetId, ct: ct);
            MetricsPlot.Write(run.Metrics, Path.Combine(folder, "training.png"), $"{name}: Stable Alignment");
            it.TrainedCheckpoint = Checkpoints.Latest(run.OutDir) ?? throw new InvalidOperationException($"{run.OutDir}: training wrote no checkpoint.");
            Save(state);
        }

        progress.Report($"{name}: evaluating {Short(it.TrainedCheckpoint)}");
        it.Scores = Evaluate(name, it.TrainedCheckpoint, questions, progress);
        Save(state);
        Report(state);
    }

    private async Task SimulateAsync(LoopState state, LoopIteration it, string folder, IReadOnlyList<SocietyQuestion> questions, IProgress<string> progress, CancellationToken ct)
    {
        var name = $"iteration {it.Iteration}";
        var servers = new List<WebApplication>();
        try
        {
            await using var app = App(folder, await ServeSocietyAsync(it, servers, ct));
            await app.StartAsync(ct);
            var runs = app.Services.GetRequiredService<IRunRepository>();
            var total = options.GridSize * options.GridSize * options.Rounds;
            var resume = it.RunId is { } known && await runs.GetAsync(known, ct) is not null;
            if (!resume)
            {
                it.RunId = NewId.NextGuid();
                Save(state);
            }

            var runId = it.RunId!.Value;
            if (await runs.GetAsync(runId, ct) is not { Status: RunStatus.Completed })
            {
                progress.Report($"{name}: {(resume ? "resuming" : "simulating")} a {options.GridSize}×{options.GridSize} society for {options.Rounds} rounds, played by {Short(it.Checkpoint)}");
                StartSimulation? start = null;
                if (!resume)
                {
                    var train = questions.Where(q => !q.Heldout).OrderBy(q => World.StableHash($"{options.Seed}/{it.Iteration}/{q.Id}")).ToList();
                    start = new StartSimulation
                    {
                        RunId = runId, GridSize = options.GridSize, Rounds = options.Rounds, InitialSetting = InitialSetting.MixedHalfHalf, Seed = options.Seed * 100 + it.Iteration,
                        SeedMemories = 2, Questions = [.. train.Select(q => q.Question)], Prior = PriorFile.Load(Path.Combine(SocietyData.Folder, "prior.jsonl")),
                    };
                }

                var ended = await LocalPipeline.SimulateAsync(app.Services, runId, start, TimeSpan.FromHours(4),
                    stored => progress.Report($"{name}: simulating ({stored.Completed + stored.Failed}/{total} interactions) with {Short(it.Checkpoint)} served over the OpenAI API"), ct);
                if (ended is not { } done)
                {
                    throw new TimeoutException($"{name}: the simulation did not end within 4 hours.");
                }

                if (done.Reason is { } reason)
                {
                    throw new InvalidOperationException($"{name}: run {runId} stopped ({reason}); run the same command again to resume it.");
                }
            }

            var records = await app.Services.GetRequiredService<IInteractionRepository>().ListByRunAsync(runId, ct);
            var run = (await runs.GetAsync(runId, ct))!;
            await SimulationExport.WriteAsync(run, records, Path.Combine(folder, "export"), null, ct);
            Measure(it, records);
            it.Simulated = true;
            Save(state);
            await app.StopAsync(ct);
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Serves the iteration's checkpoint (and the previous one, when it plays a share) over the OpenAI API, and returns
    /// the app settings that make them, and an external model when one plays a share, the society's social agents. The
    /// society's prompts are whole task prompts (the form the agent was pretrained on), so the checkpoints are served
    /// raw here; other clients of sa serve-model get the template recorded in the checkpoint.
    /// </summary>
    private async Task<Dictionary<string, string?>> ServeSocietyAsync(LoopIteration it, List<WebApplication> servers, CancellationToken ct)
    {
        async Task<(Uri Endpoint, string Id)> Serve(string checkpoint, string id)
        {
            var app = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?> { ["ModelServer:TruncateLongPrompts"] = "true" },
                ServedModel.Load(checkpoint, id, ChatTemplate.Raw), ownsModel: true);
            await app.StartAsync(ct);
            servers.Add(app);
            return (ModelServerHost.Endpoint(app), id);
        }

        var current = await Serve(it.Checkpoint, $"loop-{it.Iteration - 1}");
        var settings = new Dictionary<string, string?>
        {
            ["Models:Roles:SocialAgent:Provider"] = "OpenAI",
            ["Models:Roles:SocialAgent:Endpoint"] = current.Endpoint.ToString(),
            ["Models:Roles:SocialAgent:Model"] = current.Id,
            ["Models:Roles:SocialAgent:ApiKey"] = "none",
            ["Models:Roles:SocialAgent:MaxTokens"] = options.MaxNewTokens.ToString(CultureInfo.InvariantCulture),
            ["Models:TimeoutSeconds"] = "900",
        };
        var shares = new List<(string Endpoint, string Model, string? Key, double Share)>();
        if (options.PreviousShare > 0 && it.PreviousCheckpoint is { } previous)
        {
            var old = await Serve(previous, $"loop-{it.Iteration - 2}");
            shares.Add((old.Endpoint.ToString(), old.Id, "none", options.PreviousShare));
        }

        if (options.ExternalShare > 0)
        {
            shares.Add((options.ExternalEndpoint!, options.ExternalModel!, options.ExternalApiKey ?? "none", options.ExternalShare));
        }

        if (shares.Count > 0)
        {
            shares.Insert(0, (current.Endpoint.ToString(), current.Id, "none", 1 - shares.Sum(s => s.Share)));
            for (var k = 0; k < shares.Count; k++)
            {
                settings[$"Models:SocialAgents:{k}:Endpoint"] = shares[k].Endpoint;
                settings[$"Models:SocialAgents:{k}:Model"] = shares[k].Model;
                settings[$"Models:SocialAgents:{k}:ApiKey"] = shares[k].Key;
                settings[$"Models:SocialAgents:{k}:Share"] = shares[k].Share.ToString(CultureInfo.InvariantCulture);
            }
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

    private WebApplication App(string folder, Dictionary<string, string?> extra)
    {
        var settings = MiniatureExperiment.AppSettings(Path.Combine(folder, "store.db"));
        foreach (var (k, v) in extra)
        {
            settings[k] = v;
        }

        return buildApp(s => s.AddSingleton<StableAlignment.Models.ILocalModelProvider>(models), settings);
    }

    private void Save(LoopState state) => AtomicFile.WriteAllText(StatePath, JsonSerializer.Serialize(state, Json));

    private static Estimate Mean(IEnumerable<Rating?> ratings) =>
        Estimate.Mean([.. ratings.Where(r => r is { IsValid: true, Score: not null }).Select(r => (double)r!.Score!.Value)]);

    private string Short(string path) => Path.GetRelativePath(outDir, path) is { } rel && !rel.StartsWith("..", StringComparison.Ordinal) ? rel : path;

    /// <summary>loop-report.md and loop.png: per checkpoint, how the society it played did and how it scores on held-out questions.</summary>
    public void Report(LoopState state)
    {
        var done = state.Iterations.Where(i => i.Simulated).OrderBy(i => i.Iteration).ToList();
        var md = new StringBuilder()
            .AppendLine("# The closed loop")
            .AppendLine()
            .AppendLine(Intro(state))
            .AppendLine()
            .AppendLine("Society: mean valid observer alignment ratings (1–7) of the agents' drafts (before revision) and revisions (after), 95 % t intervals. "
                + "Held-out: preference accuracy (Wilson interval over answer pairs) and the independent judge's score of the checkpoint's own answers (t interval over questions).")
            .AppendLine()
            .AppendLine("| iteration | society played by | run | interactions | alignment before revision | after revision | invalid ratings | dataset (samples) | checkpoint trained | its preference accuracy | its judge score |")
            .AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        if (state.BaseScores is { } b)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| 0 | — | — | — | — | — | — | — | {Short(Start)} (base) | {Preference(b)} | {Fmt(b.Judge)} |");
        }

        foreach (var i in done)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {i.Iteration} | {Short(i.Checkpoint)} | {i.RunId} | {i.Interactions} | {Fmt(i.AlignmentBefore)} | {Fmt(i.AlignmentAfter)} | "
                + $"{(i.Ratings == 0 ? "—" : $"{(double)i.InvalidRatings / i.Ratings:P1} ({i.InvalidRatings}/{i.Ratings})")} | {i.DatasetId ?? "—"} ({i.Samples}) | "
                + $"{(i.TrainedCheckpoint is null ? "—" : Short(i.TrainedCheckpoint))} | {(i.Scores is null ? "—" : Preference(i.Scores))} | {(i.Scores is null ? "—" : Fmt(i.Scores.Judge))} |");
        }

        if (done.Any(i => i.Groups.Count > 1))
        {
            md.AppendLine().AppendLine("## The mixed society, by the model playing each agent").AppendLine()
                .AppendLine("| iteration | model | interactions | alignment before revision | after revision |").AppendLine("|---|---|---|---|---|");
            foreach (var i in done)
            {
                foreach (var g in i.Groups)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"| {i.Iteration} | {g.Model} | {g.Interactions} | {Fmt(g.Before)} | {Fmt(g.After)} |");
                }
            }
        }

        var board = new List<(string Name, ModelScores Scores)>();
        if (state.BaseScores is not null)
        {
            board.Add(("base (iteration 0)", state.BaseScores));
        }

        board.AddRange(done.Where(i => i.Scores is not null).Select(i => ($"iteration {i.Iteration}: {Short(i.TrainedCheckpoint!)}", i.Scores!)));
        md.AppendLine().AppendLine("## Leaderboard over iterations (by the judge's score)").AppendLine()
            .AppendLine("| rank | checkpoint | judge score | preference accuracy | under jailbreak wrappers |").AppendLine("|---|---|---|---|---|");
        var rank = 1;
        foreach (var (boardName, s) in board.OrderByDescending(x => x.Scores.Judge.Value))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {rank++} | {boardName} | {Fmt(s.Judge)} | {Preference(s)} | {Fmt(s.Adversarial)} |");
        }

        md.AppendLine().AppendLine("![loop](loop.png)").AppendLine()
            .AppendLine("Ids: each run's records are in `iteration-N/store.db` and `iteration-N/export/`; the dataset's manifest names the run it came from; "
                + "the checkpoint's `state.json` names the dataset; `loop.json` holds the whole chain.");
        File.WriteAllText(Path.Combine(outDir, "loop-report.md"), md.ToString());
        Plot(state, done);
    }

    private static string Intro(LoopState state)
    {
        var o = state.Options;
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder()
            .Append(c, $"Loop {state.LoopId}: {o.Iterations} iteration(s) of a {o.GridSize}×{o.GridSize} society for {o.Rounds} rounds, seed {o.Seed}. ")
            .Append("Each iteration: the current checkpoint, served over the OpenAI API (`sa serve-model`'s server), plays the social agents ")
            .Append(c, $"(the observer is the local rater); its run becomes alignment data; Stable Alignment trains from the current checkpoint on them for {o.TrainEpochs} epochs; ")
            .Append("the new checkpoint is evaluated on held-out questions and plays the next iteration.");
        if (o.PreviousShare > 0)
        {
            text.Append(c, $" From iteration 2, {o.PreviousShare:P0} of the agents stay on the previous checkpoint.");
        }

        if (o.ExternalShare > 0)
        {
            text.Append(c, $" {o.ExternalShare:P0} of the agents are played by {o.ExternalModel} at {o.ExternalEndpoint}.");
        }

        return text.ToString();
    }

    private void Plot(LoopState state, List<LoopIteration> done)
    {
        var plot = new Plot();
        var scored = new List<(double X, ModelScores S)>();
        if (state.BaseScores is not null)
        {
            scored.Add((0, state.BaseScores));
        }

        scored.AddRange(done.Where(i => i.Scores is not null).Select(i => ((double)i.Iteration, i.Scores!)));
        void Line(string label, double[] xs, double[] ys, ScottPlot.Color color)
        {
            if (xs.Length == 0)
            {
                return;
            }

            var s = plot.Add.Scatter(xs, ys);
            s.LegendText = label;
            s.Color = color;
        }

        Line("judge score of checkpoint k (1–7)", [.. scored.Select(s => s.X)], [.. scored.Select(s => s.S.Judge.Value)], Colors.Orange);
        Line("held-out preference accuracy × 7", [.. scored.Select(s => s.X)], [.. scored.Select(s => s.S.Preference.PairwiseAccuracy * 7)], Colors.SteelBlue);
        var society = done.Where(i => i.AlignmentBefore is { N: > 0 }).ToList();
        Line("society played by checkpoint k: alignment before revision", [.. society.Select(i => (double)(i.Iteration - 1))], [.. society.Select(i => i.AlignmentBefore!.Value)], Colors.Gray);
        Line("… after revision", [.. society.Select(i => (double)(i.Iteration - 1))], [.. society.Select(i => i.AlignmentAfter!.Value)], Colors.Green);
        var ks = Enumerable.Range(0, (done.Count == 0 ? 0 : done.Max(i => i.Iteration)) + 1).ToArray();
        plot.Axes.Bottom.SetTicks([.. ks.Select(k => (double)k)], [.. ks.Select(k => k == 0 ? "base" : k.ToString(CultureInfo.InvariantCulture))]);
        plot.Axes.Bottom.Label.Text = "checkpoint k (0: base; k: trained in iteration k)";
        plot.Title("The closed loop");
        plot.ShowLegend();
        plot.SavePng(Path.Combine(outDir, "loop.png"), 900, 500);
    }

    private static string Preference(ModelScores s)
    {
        var pairs = s.Preference.Pairs;
        var e = Estimate.Proportion((int)Math.Round(s.Preference.PairwiseAccuracy * pairs), pairs);
        return Fmt(e);
    }

    private static string Fmt(Estimate? e) => e is null || double.IsNaN(e.Value) ? "—"
        : double.IsNaN(e.Low) || e.N < 2 ? e.Value.ToString("0.000", CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{e.Value:0.000} [{e.Low:0.000}, {e.High:0.000}]");
}
