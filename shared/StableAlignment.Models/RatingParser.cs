using System.Globalization;
using System.Text.RegularExpressions;
using StableAlignment.Contracts;

namespace StableAlignment.Models;

/// <summary>
/// Strict parsing of <c>Rating: n ### Reason: text</c>: n must be an integer from 1 to 7. Anything else is an
/// invalid rating (score null) that keeps the raw reply, so it can be inspected but never averaged or trained on.
/// </summary>
public static partial class RatingParser
{
    public const int MinScore = 1;
    public const int MaxScore = 7;

    [GeneratedRegex(@"^\s*Rating:\s*(?<score>[+-]?\d+)\s*###\s*Reason:\s*(?<reason>.*?)\s*$", RegexOptions.Singleline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Form();

    public static Rating Parse(RatingAspect aspect, string? reply, string model)
    {
        var raw = reply ?? string.Empty;
        var match = Form().Match(raw);
        int? score = null;
        string? reason = null;
        if (match.Success)
        {
            reason = match.Groups["reason"].Value;
            if (int.TryParse(match.Groups["score"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                && n is >= MinScore and <= MaxScore)
            {
                score = n;
            }
        }

        return new Rating { Aspect = aspect, Score = score, Reason = reason, RawReply = raw, Model = model };
    }
}
