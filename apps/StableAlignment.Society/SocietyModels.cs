using System.Security.Cryptography;
using Microsoft.SemanticKernel;

namespace StableAlignment.Society;

/// <summary>Where the local models live and how they are pretrained.</summary>
public sealed record SocietyModelOptions
{
    public string Cache { get; init; } = "artifacts/models";
    public string Size { get; init; } = "tiny";
    public int Epochs { get; init; } = 5;
    public int MaxNewTokens { get; init; } = 160;
    public int Threads { get; init; }
    public int Seed { get; init; }
}

/// <summary>
/// The offline society's three models, trained from the bundled data and cached by a hash of that data and the
/// settings: a byte-level social agent (the trainer's architecture, taught to answer, to give feedback in the
/// rating form and to revise), the local observer, and hashing embeddings. Served as provider "Local".
/// </summary>
public sealed class SocietyModels : ILocalModelProvider
{
    private readonly LlamaForCausalLM? _agent;
    private readonly ITokenizer _tokenizer = new ByteTokenizer();
    private readonly SocietyModelOptions _options;

    /// <summary>Serves given models (for tests and custom setups); <see cref="EnsureAsync"/> trains and caches the bundled ones.</summary>
    public SocietyModels(string folder, LlamaForCausalLM? agent, LocalRater rater, SocietyModelOptions options)
    {
        Folder = folder;
        _agent = agent;
        Rater = rater;
        _options = options;
    }

    public string Folder { get; }

    public LocalRater Rater { get; }

    /// <summary>The pretrained agent checkpoint folder: the common base of the SFT and Stable Alignment runs.</summary>
    public string AgentCheckpoint => Path.Combine(Folder, "agent");

    /// <param name="withAgent">False: only the rater (the observer and the judge's kind), for runs whose social agents are another model.</param>
    public static async Task<SocietyModels> EnsureAsync(SocietyModelOptions options, PromptOptions prompts, IProgress<StepMetrics>? progress = null, CancellationToken ct = default, bool withAgent = true)
    {
        var questions = SocietyData.Questions();
        var key = Key(options, prompts);
        var folder = Path.Combine(Path.GetFullPath(options.Cache), $"society-{key}");
        Directory.CreateDirectory(folder);
        var raterPath = Path.Combine(folder, "rater.json");
        if (!File.Exists(raterPath))
        {
            LocalRater.Train(questions.Where(q => !q.Heldout).SelectMany(q => q.Answers).Select(a => (a.Text, a.Rating))).Save(raterPath);
        }

        var agentFolder = Path.Combine(folder, "agent");
        if (!withAgent)
        {
            return new SocietyModels(folder, null, LocalRater.Load(raterPath), options);
        }

        var done = Path.Combine(agentFolder, "done");
        if (!File.Exists(done))
        {
            var train = new TrainOptions
            {
                Base = options.Size, Epochs = options.Epochs, Accumulation = 8, LearningRate = 2e-3, MaxLength = 768, Seed = options.Seed,
                CheckpointEvery = 100, Threads = options.Threads, Loss = new LossOptions { Kind = LossKind.Sft }, PromptTemplate = prompts.Draft,
            };
            await new ModelTrainer(train, new ByteTokenizer()).RunAsync(AgentCurriculum(questions, prompts), agentFolder, "society-pretraining", progress, ct: ct);
            await File.WriteAllTextAsync(done, DateTime.UtcNow.ToString("O"), ct);
        }

        var (agent, _) = Checkpoints.Load(agentFolder);
        return new SocietyModels(folder, agent, LocalRater.Load(raterPath), options);
    }

    /// <summary>Answering, giving feedback in the rating form, and revising, from the training questions only.</summary>
    public static List<RatedGroup> AgentCurriculum(IReadOnlyList<SocietyQuestion> questions, PromptOptions p)
    {
        var groups = new List<RatedGroup>();
        foreach (var q in questions.Where(q => !q.Heldout))
        {
            var best = q.Answers.MaxBy(a => a.Rating)!;
            foreach (var a in q.Answers)
            {
                groups.Add(new RatedGroup(PromptOptions.Fill(p.Draft, q.Question, memory: null), [a.Text], [a.Rating]));
                groups.Add(new RatedGroup(PromptOptions.Fill(p.PeerFeedback, q.Question, a.Text, null), [$"Rating: {a.Rating} ### Reason: {a.Reason}"], [7]));
                if (a.Rating < best.Rating)
                {
                    var feedback = new[] { new PeerFeedback { PeerId = 0, Rating = new Rating { Aspect = RatingAspect.Alignment, Score = a.Rating, Reason = a.Reason, RawReply = a.Reason, Model = "data" } } };
                    groups.Add(new RatedGroup(BackScatter.RevisionPrompt(p, 0, q.Question, a.Text, feedback), [best.Text], [7]));
                }
            }
        }

        return groups;
    }

    public ChatModel Chat(ModelRole role, ModelEndpointOptions options)
    {
        var settings = new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["temperature"] = options.Temperature ?? 1.0 } };
        return role is ModelRole.SocialAgent
            ? new ChatModel(new LocalAgentService(_agent ?? throw new InvalidOperationException("These society models were loaded without the local agent."), _tokenizer, _options.MaxNewTokens), $"local-agent-{_options.Size}", settings)
            : new ChatModel(new LocalObserverService(Rater), "local-rater", settings);
    }

    public EmbeddingModel Embedding(ModelEndpointOptions options) => new(new HashingEmbeddingGenerator(), "local-hashing");

    private static string Key(SocietyModelOptions o, PromptOptions p)
    {
        var text = new StringBuilder()
            .Append(File.ReadAllText(Path.Combine(SocietyData.Folder, "questions.jsonl")))
            .Append(p.Draft).Append(p.PeerFeedback).Append(p.Revision)
            .Append($"{o.Size}|{o.Epochs}|{o.Seed}|v2");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..12].ToLowerInvariant();
    }
}
