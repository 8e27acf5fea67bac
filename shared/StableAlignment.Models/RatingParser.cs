using System.Globalization;
using System.Text.RegularExpressions;
using StableAlignment.Contracts;

namespace StableAlignment.Models;

/// <summary>
/// Parsing of replies in the form <c>Rating: n ### Reason: text</c>. Chat models often write a sentence first, so the
/// first <c>Rating: n</c> anywhere in the reply counts; n must be an integer from 1 to 7. The reason is the text after
/// <c>###</c> (without its <c>Reason:</c> label; Markdown bold around either label is accepted) or, without <c>###</c>, the text after the rating. A reply without a
/// rating, or whose first rating is out of range or not an integer, is an invalid rating (score null) that keeps the
/// raw reply, so it can be inspected but never averaged or trained on.
/// </summary>
public static partial class RatingParser
{
    public const int MinScore = Rating.MinScore;
    public const int MaxScore = Rating.MaxScore;

    [GeneratedRegex(@"Rating\**\s*:\s*\**\s*(?<score>[+-]?\d+(?:[.,]\d+)?)?(?<rest>.*)$", RegexOptions.Singleline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Form();

    [GeneratedRegex(@"^\s*(?:(?:/|out\s+of)\s*\d+)?[\s.,;:)*\-–—]*(?:Reason\**\s*:\**)?\s*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ReasonLead();

    public static Rating Parse(RatingAspect aspect, string? reply, string model)
    {
        var raw = reply ?? string.Empty;
        var match = Form().Match(raw);
        int? score = null;
        string? reason = null;
        if (match.Success)
        {
            var rest = match.Groups["rest"].Value;
            var marker = rest.IndexOf("###", StringComparison.Ordinal);
            var text = marker >= 0 ? rest[(marker + 3)..] : rest;
            text = ReasonLead().Replace(text, string.Empty, 1).Trim();
            reason = text.Length > 0 ? text : null;
            var value = match.Groups["score"].Value;
            if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n is >= MinScore and <= MaxScore)
            {
                score = n;
            }
        }

        return new Rating { Aspect = aspect, Score = score, Reason = reason, RawReply = raw, Model = model };
    }
}
