namespace StableAlignment.Contracts;

/// <summary>What makes a question acceptable; checked at the gateway and again by the consumer.</summary>
public static class QuestionRules
{
    public const int MaxLength = 4000;

    /// <summary>Null when the question is acceptable, otherwise the reason.</summary>
    public static string? Problem(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "The question is empty.";
        }

        return text.Length > MaxLength
            ? $"The question has {text.Length} characters; at most {MaxLength} are accepted."
            : null;
    }
}
