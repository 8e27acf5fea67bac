namespace StableAlignment.Contracts;

/// <summary>One prompt with its rated responses, the unit of the Stable Alignment loss.</summary>
public sealed record TripletGroup
{
    public required string Query { get; init; }
    public required IReadOnlyList<string> Responses { get; init; }
    public required IReadOnlyList<int> Scores { get; init; }
    public required IReadOnlyList<string> Models { get; init; }
}
