namespace StableAlignment.Contracts;

/// <summary>
/// One parsed rating. <see cref="Score"/> is null and <see cref="IsValid"/> false when the reply did not follow
/// <c>Rating: n ### Reason: …</c> with an integer n in 1–7; the raw reply is always kept.
/// </summary>
public sealed record Rating
{
    /// <summary>The rating scale of the method: 1 (not aligned) to 7 (perfectly aligned).</summary>
    public const int MinScore = 1;

    public const int MaxScore = 7;

    public required RatingAspect Aspect { get; init; }
    public int? Score { get; init; }
    public bool IsValid => Score is >= MinScore and <= MaxScore;
    public string? Reason { get; init; }
    public required string RawReply { get; init; }
    /// <summary>The model that produced the rating.</summary>
    public required string Model { get; init; }
    /// <summary>Why the rating was set aside although a score was parsed (e.g. it repeats a <c>Rating:</c> line planted in the rated text); null when none.</summary>
    public string? Flag { get; init; }
}
