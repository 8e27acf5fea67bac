using System.Text.Json.Nodes;
using StableAlignment.Contracts;
using StableAlignment.Primitives;

namespace StableAlignment.Data;

/// <summary>
/// Question feeds: plain text (one question per line); JSON Lines with a <c>question</c> or <c>text</c> field;
/// Anthropic HH-RLHF dialogues (<c>{"chosen": "\n\nHuman: …\n\nAssistant: …"}</c>, the first Human turn is the
/// question). Plain or gzip. The format is recognised from the first non-empty line.
/// </summary>
public static class QuestionFeed
{
    /// <param name="keepPartial">Keep the questions of a truncated gzip file (reported through <paramref name="partial"/>) instead of failing.</param>
    public static List<string> Load(string path, bool keepPartial = false, Action<string>? partial = null)
    {
        var questions = new List<string>();
        var lineNumber = 0;
        bool? json = null;
        foreach (var raw in JsonLines.ReadLines(path, keepPartial, partial))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            json ??= line.StartsWith('{');
            var question = json.Value ? FromJson(path, lineNumber, line) : line;
            if (QuestionRules.Problem(question) is { } problem)
            {
                throw new FeedFormatException(path, lineNumber, problem);
            }

            questions.Add(question);
        }

        return questions.Count > 0 ? questions : throw new FeedFormatException(path, lineNumber, "the file holds no question");
    }

    private static string FromJson(string path, int line, string text)
    {
        var o = JsonLines.ParseObject(text, line, (l, reason) => new FeedFormatException(path, l, reason));

        foreach (var field in new[] { "question", "text" })
        {
            if (o[field] is JsonValue v && v.TryGetValue<string>(out var s))
            {
                return s.Trim();
            }
        }

        // FastChat's question.jsonl (MT-bench, the Vicuna questions): {question_id, category, turns}; the first turn.
        if (o["turns"] is JsonArray { Count: > 0 } turns && turns[0] is JsonValue t && t.TryGetValue<string>(out var turn))
        {
            return turn.Trim();
        }

        if (o["chosen"] is JsonValue c && c.TryGetValue<string>(out var dialogue))
        {
            return FirstHumanTurn(dialogue) ?? throw new FeedFormatException(path, line, "the dialogue has no \"Human:\" turn");
        }

        throw new FeedFormatException(path, line, "no \"question\", \"text\", \"turns\" or \"chosen\" field");
    }

    /// <summary>The first <c>Human:</c> turn of an HH-RLHF dialogue.</summary>
    public static string? FirstHumanTurn(string dialogue)
    {
        const string human = "\n\nHuman:";
        var start = dialogue.IndexOf(human, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += human.Length;
        var end = dialogue.IndexOf("\n\nAssistant:", start, StringComparison.Ordinal);
        return (end < 0 ? dialogue[start..] : dialogue[start..end]).Trim();
    }

}
