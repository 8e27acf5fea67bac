using System.Security.Cryptography;
using System.Text;

namespace StableAlignment.Trainer;

/// <summary>
/// A training job's id: <c>job-</c> and 16 lower-case hex digits of a hash of the request's settings, so the same
/// request is the same job (a repeated message or POST finds it instead of starting another). The one rule for job ids:
/// <see cref="Of"/> makes them, <see cref="TryParse"/> accepts exactly what it makes (the API's job routes use it).
/// </summary>
public readonly record struct JobId
{
    public const string Prefix = "job-";

    private JobId(string value) => Value = value;

    public string Value { get; }

    public static implicit operator string(JobId id) => id.Value;

    public override string ToString() => Value;

    /// <summary>The id of a request. The settings added after the first ten enter it only when they differ from their defaults, so older ids stay the same.</summary>
    public static JobId Of(TrainModel m) =>
        new(Prefix + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{m.RunId}|{m.DatasetId}|{m.BaseModel}|{WireEnum<LossKind>.Name(m.Loss)}|{m.Margin}|{m.Ratio}|{m.Epochs}|{m.LearningRate}|{m.MaxSteps}|{m.Seed}{Extra(m)}")))[..16].ToLowerInvariant());

    public static bool TryParse(string? text, out JobId id)
    {
        var valid = text is { Length: 20 } && text.StartsWith(Prefix, StringComparison.Ordinal) && text[Prefix.Length..].All(char.IsAsciiHexDigitLower);
        id = valid ? new JobId(text!) : default;
        return valid;
    }

    private static string Extra(TrainModel m)
    {
        var defaults = new TrainModel { RunId = m.RunId, DatasetId = m.DatasetId };
        var extra = (m.Beta, m.RatingScale, m.MaxFlow, m.NumComp, m.Accumulation, m.MaxLength, m.WeightDecay, m.Clip, m.Warmup, m.TokensPerForward)
            == (defaults.Beta, defaults.RatingScale, defaults.MaxFlow, defaults.NumComp, defaults.Accumulation, defaults.MaxLength, defaults.WeightDecay, defaults.Clip, defaults.Warmup, defaults.TokensPerForward)
            ? string.Empty
            : FormattableString.Invariant($"|{m.Beta}|{m.RatingScale}|{m.MaxFlow}|{m.NumComp}|{m.Accumulation}|{m.MaxLength}|{m.WeightDecay}|{m.Clip}|{m.Warmup}|{m.TokensPerForward}");
        extra = m.Precision == defaults.Precision ? extra : $"{extra}|precision={m.Precision}";
        extra = m.AppendEos == defaults.AppendEos ? extra : $"{extra}|eos={m.AppendEos}";
        extra = m.Truncation == defaults.Truncation ? extra : $"{extra}|truncation={m.Truncation}";
        return m.LoraRank == 0 ? extra : FormattableString.Invariant($"{extra}|lora={m.LoraRank},{m.LoraAlpha},{m.LoraDropout},{m.LoraTargets}");
    }
}
