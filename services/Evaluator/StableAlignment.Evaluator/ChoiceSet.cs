namespace StableAlignment.Evaluator;

/// <summary>
/// The usable items of a benchmark file and the rows left out, counted by reason: a public file is never refused
/// whole over a few odd rows, and the report says how many were scored and how many skipped, and why.
/// </summary>
public sealed record ChoiceSet(List<ChoiceItem> Items, Dictionary<string, int> Skipped)
{
    public void Skip(string reason) => Skipped[reason] = Skipped.GetValueOrDefault(reason) + 1;

    public ChoiceSet Take(int? limit) => limit is { } n ? this with { Items = [.. Items.Take(n)] } : this;
}
