namespace StableAlignment.AgentRunner.Sandbox;

/// <summary>
/// A SANDBOX world: n×n agents on a grid (id = row·n + col), each with a social circle of every other agent within
/// Euclidean distance n/2 (integer division). Everything random is drawn from the run's seed, so the same seed
/// gives the same world, the same seed memories and the same peer choices, whatever the order of execution.
/// </summary>
public sealed class World
{
    private readonly int[][] _circles;

    public World(int gridSize, InitialSetting initialSetting, int seed)
    {
        if (gridSize < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(gridSize), gridSize, "The grid needs at least 2×2 agents.");
        }

        if (!Enum.IsDefined(initialSetting))
        {
            throw new ArgumentException($"Unknown initial setting {(int)initialSetting} (use {WireEnum<InitialSetting>.All}).", nameof(initialSetting));
        }

        GridSize = gridSize;
        Seed = seed;
        var radius = gridSize / 2;
        _circles = [.. Enumerable.Range(0, AgentCount).Select(a => Enumerable.Range(0, AgentCount)
            .Where(b => b != a && Distance(a, b) <= radius).ToArray())];
        Good = AssignLabels(initialSetting);
    }

    public int GridSize { get; }

    public int Seed { get; }

    public int AgentCount => GridSize * GridSize;

    /// <summary>Good[k]: agent k starts with aligned seed memories.</summary>
    public bool[] Good { get; }

    public string Label(int agent) => Good[agent] ? "good" : "bad";

    public IReadOnlyList<int> Circle(int agent) => _circles[agent];

    public double Distance(int a, int b)
    {
        var (ra, ca) = (a / GridSize, a % GridSize);
        var (rb, cb) = (b / GridSize, b % GridSize);
        return Math.Sqrt(((ra - rb) * (ra - rb)) + ((ca - cb) * (ca - cb)));
    }

    /// <summary>
    /// A generator for one decision, independent of every other: (seed, purpose, round, agent). The hash is stable
    /// across processes (string.GetHashCode and HashCode are randomised per process).
    /// </summary>
    public Random Rng(string purpose, int round, int agent) =>
        new(StableHash($"{Seed}/{purpose}/{round}/{agent}") & int.MaxValue);

    /// <summary>
    /// Back-Scatter step 2: <paramref name="count"/> peers uniformly without replacement from the circle (all of it when
    /// smaller). With global interaction, the original's rule: n_local = ⌊(1−dropout)·|circle|⌋ (which must be below
    /// <paramref name="count"/>, see <see cref="GlobalPeerProblem"/>), max(1, n_local) peers from the circle, and the
    /// rest of the quota from every other agent not yet picked — unpicked circle members included.
    /// </summary>
    public int[] PickPeers(int agent, int round, int count, bool global, double dropout)
    {
        var rng = Rng("peers", round, agent);
        var circle = _circles[agent];
        if (!global)
        {
            return Sample(rng, circle, Math.Min(count, circle.Length));
        }

        var local = LocalShare(circle.Length, dropout);
        if (local >= count)
        {
            throw new InvalidOperationException(GlobalPeerProblem(count, dropout));
        }

        var inner = Sample(rng, circle, Math.Min(Math.Max(1, local), circle.Length));
        var rest = Enumerable.Range(0, AgentCount).Where(b => b != agent && !inner.Contains(b)).ToArray();
        var outer = Sample(rng, rest, Math.Min(count - inner.Length, rest.Length));
        return [.. inner, .. outer];
    }

    /// <summary>
    /// Why global interaction cannot run with these settings, or null when it can: the original requires
    /// ⌊(1−dropout)·|circle|⌋ below the peer count for every agent, and stops otherwise. The message names the
    /// smallest dropout and the smallest peer count that would work.
    /// </summary>
    public string? GlobalPeerProblem(int count, double dropout)
    {
        var largest = _circles.Max(c => c.Length);
        if (LocalShare(largest, dropout) < count)
        {
            return null;
        }

        var minDropout = 1.0 - ((double)count / largest);
        var minPeers = LocalShare(largest, dropout) + 1;
        return $"with global interaction, ⌊(1 − dropout) · circle⌋ must stay below the {count} peers, but the largest circle of this "
            + $"{GridSize}×{GridSize} world has {largest} agents: use a dropout above {minDropout:0.####}, or at least {minPeers} peers.";
    }

    private static int LocalShare(int circle, double dropout) => (int)Math.Floor((1 - dropout) * circle + 1e-9);

    /// <summary>The question agent <paramref name="agent"/> gets in <paramref name="round"/>: the next N² of the feed, wrapping.</summary>
    public static int QuestionIndex(int round, int agent, int agentCount, int feedLength) =>
        (int)(((long)round * agentCount + agent) % feedLength);

    /// <summary>
    /// Seed memories: a sample of the prior's aligned (good agents) or misaligned (bad agents) pairs, each answer cut to
    /// its first turn. The original requires at least twice as many entries of the agent's label as it samples; see
    /// <see cref="SeedMemoryProblem"/>.
    /// </summary>
    public IReadOnlyList<PriorEntry> SeedMemories(int agent, IReadOnlyList<PriorEntry> prior, int perAgent)
    {
        var pool = prior.Where(p => p.Aligned == Good[agent]).ToArray();
        return [.. Sample(Rng("seed-memories", 0, agent), pool, Math.Min(perAgent, pool.Length)).Select(p => p with { Response = FirstTurn(p.Response) })];
    }

    /// <summary>Why the prior cannot give every agent <paramref name="perAgent"/> seed memories, or null when it can.</summary>
    public string? SeedMemoryProblem(IReadOnlyList<PriorEntry> prior, int perAgent)
    {
        if (perAgent <= 0)
        {
            return null;
        }

        foreach (var (aligned, label) in new[] { (true, "aligned"), (false, "misaligned") })
        {
            var needed = Good.Any(g => g == aligned);
            var have = prior.Count(p => p.Aligned == aligned);
            if (needed && have < 2 * perAgent)
            {
                return $"{perAgent} seed memories per agent need at least {2 * perAgent} {label} prior entries (twice as many, as the original requires), "
                    + $"but the prior has {have}: lower the seed memories to {have / 2} or give a larger prior.";
            }
        }

        return null;
    }

    /// <summary>
    /// The first turn of a multi-turn prior answer: the text after a leading "You:" marker, up to the friend's next
    /// line ("Friend:"), as the original cuts its prior.
    /// </summary>
    public static string FirstTurn(string response)
    {
        var text = response.TrimStart();
        if (text.StartsWith("You:", StringComparison.OrdinalIgnoreCase))
        {
            text = text[4..];
        }

        var next = text.IndexOf("Friend:", StringComparison.OrdinalIgnoreCase);
        return (next >= 0 ? text[..next] : text).Trim();
    }

    /// <summary>Indices into <paramref name="shares"/> for each agent: a seeded shuffle cut into blocks by share.</summary>
    public int[] AssignModels(IReadOnlyList<double> shares)
    {
        var order = Sample(Rng("models", 0, 0), Enumerable.Range(0, AgentCount).ToArray(), AgentCount);
        var total = shares.Sum();
        var result = new int[AgentCount];
        var position = 0;
        for (var m = 0; m < shares.Count; m++)
        {
            var end = m == shares.Count - 1 ? AgentCount : (int)Math.Round(AgentCount * shares.Take(m + 1).Sum() / total);
            for (; position < end; position++)
            {
                result[order[position]] = m;
            }
        }

        return result;
    }

    private bool[] AssignLabels(InitialSetting setting)
    {
        var half = AgentCount / 2;
        var good = new bool[AgentCount];
        switch (setting)
        {
            case InitialSetting.AllGood:
                Array.Fill(good, true);
                break;
            case InitialSetting.HalfHalf:
                var assigned = 0;
                for (var a = 0; a < AgentCount && assigned < half; a++)
                {
                    if (a / GridSize <= a % GridSize)
                    {
                        good[a] = true;
                        assigned++;
                    }
                }

                break;
            case InitialSetting.MixedHalfHalf:
                foreach (var a in Sample(Rng("labels", 0, 0), Enumerable.Range(0, AgentCount).ToArray(), half))
                {
                    good[a] = true;
                }

                break;
        }

        return good;
    }

    private static T[] Sample<T>(Random rng, IReadOnlyList<T> items, int count)
    {
        var copy = items.ToArray();
        for (var i = 0; i < count; i++)
        {
            var j = rng.Next(i, copy.Length);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }

        return copy[..count];
    }

    /// <summary>FNV-1a of the text: stable across processes and runs (string.GetHashCode is randomised per process).</summary>
    public static int StableHash(string s)
    {
        unchecked
        {
            var h = (int)2166136261;
            foreach (var c in s)
            {
                h = (h ^ c) * 16777619;
            }

            return h;
        }
    }
}
