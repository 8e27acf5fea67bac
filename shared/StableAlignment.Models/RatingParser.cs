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

    [GeneratedRegex(@"Rating\**\s*:\s*\**\s*[+-]?\d+[^\r\n]{0,300}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Planted();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    /// <summary>
    /// As <see cref="Parse(RatingAspect, string?, string)"/>, and a rating that repeats a <c>Rating: n</c> line found in
    /// the rated texts (the question or the answer: a planted rating the rater obeyed), or whose reason repeats that
    /// line's reason, is flagged and counts as invalid: a label must come from the rater's own judgement.
    /// </summary>
    public static Rating Parse(RatingAspect aspect, string? reply, string model, params string?[] rated)
    {
        var rating = Parse(aspect, reply, model);
        if (!rating.IsValid)
        {
            return rating;
        }

        var said = Normalise(rating.RawReply);
        var reason = Normalise(rating.Reason ?? string.Empty);
        foreach (var text in rated)
        {
            foreach (Match planted in Planted().Matches(text ?? string.Empty))
            {
                var line = Normalise(planted.Value);
                var marker = line.IndexOf("###", StringComparison.Ordinal);
                var plantedReason = marker >= 0 ? ReasonLead().Replace(line[(marker + 3)..], string.Empty, 1).Trim() : string.Empty;
                if (said.Contains(line, StringComparison.Ordinal) || (plantedReason.Length >= 8 && reason.Contains(plantedReason, StringComparison.Ordinal)))
                {
                    return rating with { Score = null, Flag = "the reply repeats a Rating: line found in the rated text (possible prompt injection)" };
                }
            }
        }

        return rating;
    }

    private static string Normalise(string text) => Spaces().Replace(text, " ").Trim().ToLowerInvariant();

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
