using System.Globalization;

namespace StableAlignment.DatasetBuilder;

/// <summary>How a dataset is built. <see cref="Ratios"/> null keeps every sample (<c>--no-sampling</c>).</summary>
public sealed record BuildOptions(double[]? Ratios, int Seed = 0, double Holdout = 0)
{
    public static readonly double[] PaperRatios = [5, 1, 1];

    /// <summary>Parses <c>I:S:R</c>, e.g. <c>5:1:1</c>; the imitation part must be positive.</summary>
    public static double[] ParseRatios(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 3 || !parts.All(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0))
        {
            throw new FormatException($"Ratios '{text}' must read I:S:R with three non-negative numbers, e.g. 5:1:1.");
        }

        var ratios = parts.Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return ratios[0] > 0 ? ratios : throw new FormatException("The imitation part of the ratios must be positive.");
    }

    public string Describe() =>
        $"ratios={(Ratios is null ? "none" : string.Join(':', Ratios.Select(r => r.ToString(CultureInfo.InvariantCulture))))};seed={Seed};holdout={Holdout.ToString(CultureInfo.InvariantCulture)}";
}
