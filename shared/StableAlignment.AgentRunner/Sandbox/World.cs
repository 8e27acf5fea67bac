using StableAlignment.Contracts;

namespace StableAlignment.AgentRunner.Sandbox;

/// <summary>The initial settings of the paper: which agents start with aligned seed memories.</summary>
public static class InitialSettings
{
    public const string AllGood = "all_good";
    public const string AllBad = "all_bad";
    public const string HalfHalf = "half_half";
    public const string MixedHalfHalf = "mixed_half_half";

    public static readonly string[] All = [AllGood, AllBad, HalfHalf, MixedHalfHalf];
}

/// <summary>
/// A SANDBOX world: n×n agents on a grid (id = row·n + col), each with a social circle of every other agent within
/// Euclidean distance n/2 (integer division). Everything random is drawn from the run's seed, so the same seed
/// gives the same world, the same seed memories and the same peer choices, whatever the order of execution.
/// </summary>
public sealed class World
{
    private readonly int[][] _circles;

    public World(int gridSize, string initialSetting, int seed)
    {
        if (gridSize < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(gridSize), gridSize, "The grid needs at least 2×2 agents.");
        }

        if (!InitialSettings.All.Contains(initialSetting))
        {
            throw new ArgumentException($"Unknown initial setting '{initialSetting}' (use {string.Join(", ", InitialSettings.All)}).", nameof(initialSetting));
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
    /// Back-Scatter step 2: <paramref name="count"/> peers uniformly without replacement from the circle; with global
    /// interaction only max(1, ⌊(1−dropout)·|circle|⌋) of them from the circle and the rest from outside it.
    /// </summary>
    public int[] PickPeers(int agent, int round, int count, bool global, double dropout)
    {
        var rng = Rng("peers", round, agent);
        var circle = _circles[agent];
        if (!global)
        {
            return Sample(rng, circle, Math.Min(count, circle.Length));
        }

        var fromCircle = Math.Min(count, Math.Max(1, (int)Math.Floor((1 - dropout) * circle.Length)));
        var outside = Enumerable.Range(0, AgentCount).Where(b => b != agent && !circle.Contains(b)).ToArray();
        var inner = Sample(rng, circle, Math.Min(fromCircle, circle.Length));
        var outer = Sample(rng, outside, Math.Min(count - inner.Length, outside.Length));
        return [.. inner, .. outer];
    }

    /// <summary>The question agent <paramref name="agent"/> gets in <paramref name="round"/>: the next N² of the feed, wrapping.</summary>
    public static int QuestionIndex(int round, int agent, int agentCount, int feedLength) =>
        (int)(((long)round * agentCount + agent) % feedLength);

    /// <summary>Seed memories: a sample of the prior's aligned (good agents) or misaligned (bad agents) pairs.</summary>
    public IReadOnlyList<PriorEntry> SeedMemories(int agent, IReadOnlyList<PriorEntry> prior, int perAgent)
    {
        var pool = prior.Where(p => p.Aligned == Good[agent]).ToArray();
        return Sample(Rng("seed-memories", 0, agent), pool, Math.Min(perAgent, pool.Length));
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

    private bool[] AssignLabels(string setting)
    {
        var half = AgentCount / 2;
        var good = new bool[AgentCount];
        switch (setting)
        {
            case InitialSettings.AllGood:
                Array.Fill(good, true);
                break;
            case InitialSettings.HalfHalf:
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
            case InitialSettings.MixedHalfHalf:
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

    private static int StableHash(string s)
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
