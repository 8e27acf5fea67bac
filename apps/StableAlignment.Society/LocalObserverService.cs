using Microsoft.SemanticKernel;

namespace StableAlignment.Society;

/// <summary>The observer: rates the answer found in the prompt and replies in the <c>Rating: n ### Reason: …</c> form.</summary>
public sealed class LocalObserverService(LocalRater rater) : LocalChatService
{
    protected override string Reply(string prompt, PromptExecutionSettings? settings)
    {
        var answer = AnswerIn(prompt);
        var rating = rater.Rate(answer);
        return $"Rating: {rating} ### Reason: {LocalRater.ReasonFor(rating)}";
    }

    /// <summary>The text after the last "Answer:" (or "answer:") up to the next blank line.</summary>
    public static string AnswerIn(string prompt)
    {
        var at = prompt.LastIndexOf("nswer:", StringComparison.Ordinal);
        if (at < 0)
        {
            return prompt;
        }

        var rest = prompt[(at + 6)..];
        var end = rest.IndexOf("\n\n", StringComparison.Ordinal);
        return (end < 0 ? rest : rest[..end]).Trim();
    }
}
