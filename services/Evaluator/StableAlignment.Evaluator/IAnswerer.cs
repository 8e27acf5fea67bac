namespace StableAlignment.Evaluator;

/// <summary>Who answers the generation suites: a local checkpoint, or any Semantic Kernel chat model.</summary>
public interface IAnswerer
{
    string Id { get; }

    Task<(string Text, int Tokens)> AnswerAsync(string question, int sample, CancellationToken ct);
}
