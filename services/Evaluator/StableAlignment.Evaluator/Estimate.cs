namespace StableAlignment.Evaluator;

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

    /// <summary>
    /// Mean with a Student-t interval (n − 1 degrees of freedom): with the few seeds of an experiment, a normal
    /// interval would be far too narrow (at n = 3 the t quantile is 4.30, not 1.96).
    /// </summary>
    public static Estimate Mean(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return new Estimate(double.NaN, double.NaN, double.NaN, 0);
        }

        var mean = values.Average();
        if (values.Count == 1)
        {
            // One value has no spread to estimate: the interval collapses to it, and N = 1 says so (NaN would not survive JSON).
            return new Estimate(mean, mean, mean, 1);
        }

        var sd = MathNet.Numerics.Statistics.Statistics.StandardDeviation(values);
        var half = MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, values.Count - 1, 0.975) * sd / Math.Sqrt(values.Count);
        return new Estimate(mean, mean - half, mean + half, values.Count);
    }

    /// <summary>The mean of paired differences a_i − b_i (e.g. one model minus another, seed by seed) with its t interval.</summary>
    public static Estimate PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b) =>
        a.Count == b.Count ? Mean([.. a.Zip(b, (x, y) => x - y)]) : throw new ArgumentException($"{a.Count} values paired with {b.Count}.");

    public override string ToString() => $"{Value:0.000} [{Low:0.000}, {High:0.000}] (n = {N})";
}
