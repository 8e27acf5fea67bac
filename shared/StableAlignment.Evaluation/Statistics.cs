namespace StableAlignment.Evaluation;

/// <summary>A proportion or mean with its 95 % confidence interval.</summary>
public sealed record Estimate(double Value, double Low, double High, int N)
{
    /// <summary>Wilson score interval for k successes in n trials.</summary>
    public static Estimate Proportion(int k, int n)
    {
        if (n == 0)
        {
            return new Estimate(double.NaN, double.NaN, double.NaN, 0);
        }

        const double z = 1.959964;
        var p = (double)k / n;
        var denominator = 1 + (z * z / n);
        var centre = (p + (z * z / (2 * n))) / denominator;
        var half = z * Math.Sqrt((p * (1 - p) / n) + (z * z / (4.0 * n * n))) / denominator;
        return new Estimate(p, Math.Max(0, centre - half), Math.Min(1, centre + half), n);
    }

    /// <summary>Mean with a normal-approximation interval (t would be wider for very small n; n is reported).</summary>
    public static Estimate Mean(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return new Estimate(double.NaN, double.NaN, double.NaN, 0);
        }

        var mean = values.Average();
        var sd = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        var half = 1.959964 * sd / Math.Sqrt(values.Count);
        return new Estimate(mean, mean - half, mean + half, values.Count);
    }

    public override string ToString() => $"{Value:0.000} [{Low:0.000}, {High:0.000}] (n = {N})";
}

public static class Kendall
{
    /// <summary>Kendall's tau-b between two rankings (ties in either reduce the denominator).</summary>
    public static double TauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        long concordant = 0, discordant = 0, tiesX = 0, tiesY = 0;
        for (var i = 0; i < x.Count; i++)
        {
            for (var j = i + 1; j < x.Count; j++)
            {
                var dx = Math.Sign(x[i] - x[j]);
                var dy = Math.Sign(y[i] - y[j]);
                if (dx == 0 && dy == 0)
                {
                    continue;
                }

                if (dx == 0)
                {
                    tiesX++;
                }
                else if (dy == 0)
                {
                    tiesY++;
                }
                else if (dx == dy)
                {
                    concordant++;
                }
                else
                {
                    discordant++;
                }
            }
        }

        var denominator = Math.Sqrt((double)(concordant + discordant + tiesX) * (concordant + discordant + tiesY));
        return denominator == 0 ? double.NaN : (concordant - discordant) / denominator;
    }
}
