namespace StableAlignment.Learning;

/// <summary>A query with its rated responses (the authors' format).</summary>
public sealed record RatedGroup(string Query, IReadOnlyList<string> Responses, IReadOnlyList<int> Scores);
