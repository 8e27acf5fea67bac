namespace StableAlignment.Contracts;

/// <summary>
/// One parsed rating. <see cref="Score"/> is null and <see cref="IsValid"/> false when the reply did not follow
/// <c>Rating: n ### Reason: …</c> with an integer n in 1–7; the raw reply is always kept.
/// </summary>
public sealed record Rating
{
    public required RatingAspect Aspect { get; init; }
    public int? Score { get; init; }
    public bool IsValid => Score is >= 1 and <= 7;
    public string? Reason { get; init; }
    public required string RawReply { get; init; }
    /// <summary>The model that produced the rating.</summary>
    public required string Model { get; init; }
}
