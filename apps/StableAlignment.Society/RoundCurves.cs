using ScottPlot;

namespace StableAlignment.Society;

/// <summary>
/// The society's curves from run summaries (<c>summary.json</c>'s <c>rounds</c>): per round and initial group (all,
/// agents seeded good, agents seeded bad), the mean observer alignment and engagement before and after revision,
/// averaged over the runs given, as a series and as a PNG.
/// </summary>
public static class RoundCurves
{
    private static readonly string[] Keys = ["alignment_before", "alignment_after", "engagement_before", "engagement_after"];

    public static List<(int Round, string Group, double[] Values)> Series(IReadOnlyList<JsonArray> runs)
    {
        var result = new List<(int, string, double[])>();
        var rounds = runs.Count == 0 ? 0 : runs.Max(r => r.Count);
        for (var r = 0; r < rounds; r++)
        {
            foreach (var group in new[] { "all", "good", "bad" })
            {
                var rows = runs.Where(x => x.Count > r).Select(x => group == "all" ? x[r] : x[r]![group]).Where(x => x is not null).ToList();
                var values = Keys.Select(k => rows.Select(x => x![k]?.GetValue<double?>()).OfType<double>().DefaultIfEmpty(double.NaN).Average()).ToArray();
                result.Add((r, group, values));
            }
        }

        return result;
    }

    public static string Plot(IReadOnlyList<JsonArray> runs, string path)
    {
        var plot = new Plot();
        var series = Series(runs);
        foreach (var group in new[] { "good", "bad" })
        {
            var points = series.Where(x => x.Group == group && !double.IsNaN(x.Values[0])).ToList();
            if (points.Count == 0)
            {
                continue;
            }

            double[] xs = [.. points.Select(p => (double)p.Round + 1)];
            var color = group == "good" ? Colors.SteelBlue : Colors.OrangeRed;
            var before = plot.Add.Scatter(xs, [.. points.Select(p => p.Values[0])]);
            before.LegendText = $"seeded {group}: before revision";
            before.LinePattern = LinePattern.Dashed;
            before.Color = color;
            var after = plot.Add.Scatter(xs, [.. points.Select(p => p.Values[1])]);
            after.LegendText = $"seeded {group}: after revision";
            after.Color = color;
        }

        var roundNumbers = series.Select(x => (double)x.Round + 1).Distinct().ToArray();
        plot.Axes.Bottom.SetTicks(roundNumbers, [.. roundNumbers.Select(r => r.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        plot.Title("Mean observer alignment by round");
        plot.XLabel("round");
        plot.YLabel("alignment (1–7)");
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, 1000, 500);
        return path;
    }
}
