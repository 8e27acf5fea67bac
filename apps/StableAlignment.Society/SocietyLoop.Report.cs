using System.Globalization;
using ScottPlot;
using StableAlignment.Evaluator;

namespace StableAlignment.Society;

public sealed partial class SocietyLoop
{
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
