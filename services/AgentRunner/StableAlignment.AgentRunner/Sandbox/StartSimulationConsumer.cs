namespace StableAlignment.AgentRunner.Sandbox;

/// <summary>Validates and stores a new simulation run, then hands it to the runner. A repeated message starts nothing.</summary>
public sealed class StartSimulationConsumer(IRunRepository runs, SimulationRunner runner, ILogger<StartSimulationConsumer> logger)
    : IConsumer<StartSimulation>
{
    public async Task Consume(ConsumeContext<StartSimulation> context)
    {
        var m = context.Message;
        if (Validate(m) is { } problem)
        {
            throw new InvalidMessageException($"StartSimulation: {problem}");
        }

        if (!await runs.TryCreateAsync(Record(m), context.CancellationToken))
        {
            // Created already: by the API before it answered 202 (so that the run's status exists at once), or by a
            // repeated message. A run still Running and not active here starts; anything else is a repeat.
            if (await runs.GetAsync(m.RunId, context.CancellationToken) is not { Status: RunStatus.Running } || runner.IsActive(m.RunId))
            {
                logger.LogInformation("Run {RunId} exists already; the repeated start is ignored", m.RunId);
                return;
            }
        }

        runner.Enqueue(m.RunId);
    }

    /// <summary>The stored run of a start message.</summary>
    public static RunRecord Record(StartSimulation m) => new()
    {
        Id = m.RunId,
        Kind = RunKind.Simulation,
        CreatedAt = DateTime.UtcNow,
        Simulation = new StoredSimulation
        {
            GridSize = m.GridSize, Rounds = m.Rounds, InitialSetting = m.InitialSetting, Peers = m.Peers,
            GlobalInteraction = m.GlobalInteraction, Dropout = m.Dropout, Seed = m.Seed, SeedMemories = m.SeedMemories,
            Questions = [.. m.Questions], Prior = [.. m.Prior],
            SocialAgentModels = m.SocialAgentModels is { Count: > 0 } chosen ? [.. chosen] : null, Loop = m.Loop,
        },
    };

    /// <summary>Questions (and prior entries) in one run.</summary>
    public const int MaxQuestions = 100_000;

    /// <summary>Text of the feed and prior together, in UTF-8 bytes: the run record must stay under MongoDB's 16 MB document limit.</summary>
    public const long MaxFeedBytes = 8L << 20;

    public static string? Validate(StartSimulation m)
    {
        if (m.RunId == Guid.Empty)
        {
            return "runId is missing.";
        }

        if (m.SettingsProblem() is { } problem)
        {
            return problem;
        }

        if (m.Questions is not { Count: > 0 })
        {
            return "questions: the question feed is empty.";
        }

        if (m.Questions.Count > MaxQuestions)
        {
            return $"questions: {m.Questions.Count} questions; at most {MaxQuestions} per run.";
        }

        if (m.Prior.Count > MaxQuestions)
        {
            return $"prior: {m.Prior.Count} entries; at most {MaxQuestions} per run.";
        }

        var bytes = m.Questions.Sum(q => (long)System.Text.Encoding.UTF8.GetByteCount(q ?? ""))
            + m.Prior.Sum(p => (long)System.Text.Encoding.UTF8.GetByteCount(p.Question ?? "") + System.Text.Encoding.UTF8.GetByteCount(p.Response ?? ""));
        if (bytes > MaxFeedBytes)
        {
            return $"questions: the feed and prior hold {bytes} bytes of text; at most {MaxFeedBytes} per run (the run is stored as one document).";
        }

        var bad = m.Questions.Select((q, i) => (i, p: QuestionRules.Problem(q))).FirstOrDefault(x => x.p is not null);
        if (bad.p is not null)
        {
            return $"question {bad.i}: {bad.p}";
        }

        if (SocietyProblem(m) is { } society)
        {
            return society;
        }

        var world = new World(m.GridSize, m.InitialSetting, m.Seed);
        return (m.GlobalInteraction ? world.GlobalPeerProblem(m.Peers, m.Dropout) : null)
            ?? (m.Prior.Count > 0 ? world.SeedMemoryProblem(m.Prior, m.SeedMemories) : null);
    }

    public const int MaxSocietyModels = 16;

    /// <summary>What makes the run's own society (models and shares) or its loop step unusable; null when fine.</summary>
    private static string? SocietyProblem(StartSimulation m)
    {
        static bool BadName(string? name) => string.IsNullOrWhiteSpace(name) || name.Length > 200 || name.Any(char.IsControl);
        if (m.SocialAgentModels is { } models)
        {
            if (models.Count > MaxSocietyModels)
            {
                return $"socialAgentModels: {models.Count} models; at most {MaxSocietyModels}.";
            }

            var bad = models.ToList().FindIndex(c => c is null || BadName(c.Model) || !double.IsFinite(c.Share) || c.Share <= 0);
            if (bad >= 0)
            {
                return $"socialAgentModels[{bad}]: each entry needs a model name (at most 200 characters) and a positive share (shares are weights).";
            }
        }

        if (m.Loop is not { } loop)
        {
            return null;
        }

        return loop.LoopId == Guid.Empty ? "loop.loopId is missing."
            : loop.Iterations is < 1 or > 100 ? $"loop.iterations {loop.Iterations} is outside 1–100."
            : loop.Iteration < 1 || loop.Iteration > loop.Iterations ? $"loop.iteration {loop.Iteration} is outside 1–{loop.Iterations}."
            : BadName(loop.Checkpoint) ? "loop.checkpoint: the model that plays the society is missing."
            : loop.PreviousCheckpoint is { } previous && BadName(previous) ? "loop.previousCheckpoint: not a usable model name."
            : !double.IsFinite(loop.PreviousShare) || loop.PreviousShare is < 0 or >= 1 ? $"loop.previousShare {loop.PreviousShare} is outside [0, 1)."
            : loop.TrainEpochs is < 1 or > 1000 ? $"loop.trainEpochs {loop.TrainEpochs} is outside 1–1000."
            : loop.TrainMaxSteps is < 1 ? "loop.trainMaxSteps must be at least 1."
            : loop.TrainAccumulation is < 1 or > 1024 ? $"loop.trainAccumulation {loop.TrainAccumulation} is outside 1–1024."
            : !double.IsFinite(loop.TrainLearningRate) || loop.TrainLearningRate <= 0 || loop.TrainLearningRate > 1 ? $"loop.trainLearningRate {loop.TrainLearningRate} is outside (0, 1]."
            : null;
    }
}

public sealed class StartSimulationConsumerDefinition : RetryingConsumerDefinition<StartSimulationConsumer>;
