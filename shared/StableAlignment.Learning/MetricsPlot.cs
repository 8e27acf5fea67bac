using ScottPlot;

namespace StableAlignment.Learning;

/// <summary>The training curves as a PNG: loss, SFT and contrastive parts over steps, learning rate on a second axis.</summary>
public static class MetricsPlot
{
    public static string Write(IReadOnlyList<StepMetrics> metrics, string path, string title)
    {
        var plot = new Plot();
        var steps = metrics.Select(m => (double)m.Step).ToArray();
        void Line(Func<StepMetrics, double> value, string label)
        {
            var s = plot.Add.Scatter(steps, metrics.Select(value).ToArray());
            s.LegendText = label;
            s.MarkerSize = 0;
        }

        Line(m => m.Loss, "loss");
        Line(m => m.Sft, "sft (best response NLL)");
        Line(m => m.Diff, "diff (hinge)");
        var lr = plot.Add.Scatter(steps, metrics.Select(m => m.LearningRate).ToArray());
        lr.LegendText = "learning rate (right)";
        lr.MarkerSize = 0;
        lr.LinePattern = LinePattern.Dashed;
        lr.Axes.YAxis = plot.Axes.Right;
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.Axes.Right.Label.Text = "learning rate";
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 900, 500);
        return path;
    }
}
