using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;

namespace StableAlignment.Evaluator;

/// <summary>report.json, report.md and scores.png for one evaluation; the leaderboard across evaluations in a folder.</summary>
public static class Reports
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static void Write(EvaluationReport report, string outDir)
    {
        AtomicFile.WriteAllText(Path.Combine(outDir, "report.json"), JsonSerializer.Serialize(report, Json));
        var md = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"# Evaluation of {report.CheckpointId}")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Step {report.Step}; {report.CreatedAt:yyyy-MM-dd HH:mm} UTC{(report.JudgeModel is null ? "" : $"; judge: {report.JudgeModel}")}{(report.SelfJudged ? " (the observer that rated the data: judged scores are its agreement with itself)" : "")}. Intervals are 95 %.")
            .AppendLine()
            .AppendLine("| benchmark | metric | score | 95 % interval | n | details |")
            .AppendLine("|---|---|---|---|---|---|");
        foreach (var (name, s) in report.Scores)
        {
            var details = string.Join(", ", s.Details.Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Key} {d.Value:0.###}")));
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {s.Metric} | {s.Score.Value:0.000} | {s.Score.Low:0.000}–{s.Score.High:0.000} | {s.Score.N} | {details} |");
        }

        if (report.Failures.Count > 0)
        {
            md.AppendLine().AppendLine("Not scored:").AppendLine();
            foreach (var (name, reason) in report.Failures)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {name}: {reason}");
            }
        }

        md.AppendLine().AppendLine("Per-sample results: `samples/*.jsonl`. Chart: `scores.png`.");
        File.WriteAllText(Path.Combine(outDir, "report.md"), md.ToString());
        Bars(report, Path.Combine(outDir, "scores.png"));
    }

    private static void Bars(EvaluationReport report, string path)
    {
        var plot = new Plot();
        var entries = report.Scores.ToList();
        for (var i = 0; i < entries.Count; i++)
        {
            var s = entries[i].Value.Score;
            var bar = plot.Add.Bar(i, double.IsNaN(s.Value) ? 0 : s.Value);
            bar.LegendText = entries[i].Key;
            if (!double.IsNaN(s.Low))
            {
                var error = plot.Add.ErrorBar([(double)i], [s.Value], [s.Value - s.Low]);
                error.Color = Colors.Black;
            }
        }

        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, entries.Count).Select(i => (double)i)], [.. entries.Select(e => e.Key)]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 20;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Title($"{report.CheckpointId}: score per benchmark (95 % intervals)");
        plot.SavePng(path, 1000, 520);
    }

    /// <summary>
    /// Every report.json under a folder, ordered by checkpoint step. An unreadable report is an error naming it, or,
    /// with <paramref name="skipped"/>, left out and reported there (a service's leaderboard keeps the others).
    /// </summary>
    public static List<EvaluationReport> Load(string root, Action<string>? skipped = null)
    {
        var reports = new List<EvaluationReport>();
        foreach (var file in Directory.Exists(root) ? Directory.GetFiles(root, "report.json", SearchOption.AllDirectories) : [])
        {
            try
            {
                reports.Add(JsonLines.ReadJson<EvaluationReport>(file, Json));
            }
            catch (InvalidDataException e) when (skipped is not null)
            {
                skipped(e.Message);
            }
        }

        return [.. reports.OrderBy(r => r.Step).ThenBy(r => r.CreatedAt)];
    }

    /// <summary>leaderboard.md and leaderboard.png (each benchmark's score over training steps) in <paramref name="root"/>.</summary>
    public static string Leaderboard(string root, Action<string>? skipped = null)
    {
        var reports = Load(root, skipped);
        var benchmarks = reports.SelectMany(r => r.Scores.Keys).Distinct().Where(b => !b.Contains("+adv", StringComparison.Ordinal)).ToList();
        var md = new StringBuilder().AppendLine("# Leaderboard").AppendLine()
            .AppendLine("| checkpoint | step | " + string.Join(" | ", benchmarks) + " |")
            .AppendLine("|---|---|" + string.Concat(benchmarks.Select(_ => "---|")));
        foreach (var r in reports.OrderByDescending(r => benchmarks.Select(b => r.Scores.TryGetValue(b, out var s) ? s.Score.Value : 0).DefaultIfEmpty().Average()))
        {
            var cells = string.Join(" | ", benchmarks.Select(b => r.Scores.TryGetValue(b, out var s) ? s.Score.Value.ToString("0.000", CultureInfo.InvariantCulture) : "—"));
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.CheckpointId} | {r.Step} | {cells} |");
        }

        File.WriteAllText(Path.Combine(root, "leaderboard.md"), md.ToString());
        if (reports.Count > 0)
        {
            var plot = new Plot();
            foreach (var b in benchmarks)
            {
                var points = reports.Where(r => r.Scores.ContainsKey(b)).ToList();
                var line = plot.Add.Scatter(points.Select(r => (double)r.Step).ToArray(), points.Select(r => r.Scores[b].Score.Value).ToArray());
                line.LegendText = b;
            }

            plot.XLabel("training step");
            plot.YLabel("score");
            plot.Title("Checkpoints over training");
            plot.ShowLegend();
            plot.SavePng(Path.Combine(root, "leaderboard.png"), 900, 500);
        }

        return md.ToString();
    }
}
