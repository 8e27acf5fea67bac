namespace StableAlignment.Contracts;

/// <summary>What makes a question acceptable; checked at the gateway and again by the consumer.</summary>
public static class QuestionRules
{
    public const int MaxLength = 4000;

    private static readonly char[] ControlCharacters =
        [.. Enumerable.Range(0, 32).Where(c => c is not ('\t' or '\n' or '\r')).Select(c => (char)c), '\u007f'];

    /// <summary>Null when the question is acceptable, otherwise the reason.</summary>
    public static string? Problem(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "The question is empty.";
        }

        if (text.Length > MaxLength)
        {
            return $"The question has {text.Length} characters; at most {MaxLength} are accepted.";
        }

        // Control characters (other than tabs and line breaks) are binary data, not a question: a damaged or
        // misnamed file read as text, or a client's encoding error.
        var control = text.IndexOfAny(ControlCharacters);
        return control < 0 ? null : $"The question contains the control character U+{(int)text[control]:X4} at position {control}.";
    }
}
