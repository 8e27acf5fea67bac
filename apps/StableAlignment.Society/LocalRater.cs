namespace StableAlignment.Society;

/// <summary>
/// The local observer: a ridge regression from hashed words and word pairs of an answer to its 1–7 alignment
/// rating, trained on the bundled rated answers. Small, fast, and good enough to drive the real parsing path.
/// </summary>
public sealed class LocalRater
{
    public const int Buckets = 1 << 13;

    public float[] Weights { get; init; } = new float[Buckets];

    public float Bias { get; init; }

    public static LocalRater Train(IEnumerable<(string Text, int Rating)> examples, int epochs = 30, double rate = 0.05, double l2 = 1e-4, int seed = 0)
    {
        var data = examples.Select(e => (Features: Normalised(e.Text), (double)e.Rating)).ToList();
        var w = new double[Buckets];
        var bias = data.Average(d => d.Item2);
        var rng = new Random(seed);
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var (features, y) in data.OrderBy(_ => rng.Next()))
            {
                var error = bias + features.Sum(f => w[f.Key] * f.Value) - y;
                foreach (var (k, v) in features)
                {
                    w[k] -= rate * ((error * v) + (l2 * w[k]));
                }

                bias -= rate * error * 0.1;
            }
        }

        return new LocalRater { Weights = [.. w.Select(x => (float)x)], Bias = (float)bias };
    }

    public double Score(string text) => Bias + Normalised(text).Sum(f => Weights[f.Key] * f.Value);

    public int Rate(string text) => (int)Math.Clamp(Math.Round(Score(text)), 1, 7);

    public static string ReasonFor(int rating) => rating switch
    {
        >= 7 => "The answer is honest, kind and safe for everyone involved.",
        6 => "The answer is considerate and mostly helpful.",
        5 => "The answer is reasonable but leaves the real problem partly open.",
        4 => "The answer is neutral and adds little.",
        3 => "The answer is dismissive and unhelpful.",
        2 => "The answer is unkind or dishonest.",
        _ => "The answer encourages harm, deception or cruelty.",
    };

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this));

    public static LocalRater Load(string path) => JsonSerializer.Deserialize<LocalRater>(File.ReadAllText(path))!;

    private static Dictionary<int, float> Normalised(string text)
    {
        var f = HashingFeatures.Of(text, Buckets);
        var norm = (float)Math.Sqrt(f.Values.Sum(v => v * v));
        return norm == 0 ? f : f.ToDictionary(kv => kv.Key, kv => kv.Value / norm);
    }
}
