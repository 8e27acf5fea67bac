namespace StableAlignment.Contracts;

/// <summary>Continues a stored simulation run: interactions missing or failed are (re)run, completed ones are kept.</summary>
public sealed record ResumeSimulation
{
    public required Guid RunId { get; init; }
}
