namespace StableAlignment.Society;

public sealed record RatedAnswer(string Text, int Rating, string Reason);

public sealed record SocietyQuestion(string Id, string Topic, string Question, bool Heldout, IReadOnlyList<RatedAnswer> Answers);

/// <summary>The bundled society data (data/society): rated questions with a fixed held-out split, revisions, the prior.</summary>
public static class SocietyData
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "data", "society");

    public static List<SocietyQuestion> Questions(string? folder = null) =>
        [.. File.ReadLines(Path.Combine(folder ?? Folder, "questions.jsonl")).Where(l => l.Length > 0).Select(l =>
        {
            var n = JsonNode.Parse(l)!;
            return new SocietyQuestion(
                n["id"]!.GetValue<string>(), n["topic"]!.GetValue<string>(), n["question"]!.GetValue<string>(), n["split"]!.GetValue<string>() == "heldout",
                [.. n["answers"]!.AsArray().Select(a => new RatedAnswer(a!["text"]!.GetValue<string>(), a["rating"]!.GetValue<int>(), a["reason"]!.GetValue<string>()))]);
        })];
}

/// <summary>Spearman's rank correlation (average ranks for ties).</summary>
public static class Spearman
{
    public static double Correlation(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var rx = Ranks(x);
        var ry = Ranks(y);
        var mx = rx.Average();
        var my = ry.Average();
        var cov = rx.Zip(ry).Sum(p => (p.First - mx) * (p.Second - my));
        var sx = Math.Sqrt(rx.Sum(v => (v - mx) * (v - mx)));
        var sy = Math.Sqrt(ry.Sum(v => (v - my) * (v - my)));
        return sx == 0 || sy == 0 ? double.NaN : cov / (sx * sy);
    }

    private static double[] Ranks(IReadOnlyList<double> v)
    {
        var order = Enumerable.Range(0, v.Count).OrderBy(i => v[i]).ToArray();
        var ranks = new double[v.Count];
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]])
            {
                j++;
            }

            for (var k = i; k <= j; k++)
            {
                ranks[order[k]] = (i + j) / 2.0 + 1;
            }

            i = j + 1;
        }

        return ranks;
    }
}
