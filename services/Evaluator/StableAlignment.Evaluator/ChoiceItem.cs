namespace StableAlignment.Evaluator;

/// <summary>One multiple-choice item: the prompt, the options, and which of them are right.</summary>
public sealed record ChoiceItem(string Id, string Prompt, IReadOnlyList<string> Options, IReadOnlySet<int> Correct);
