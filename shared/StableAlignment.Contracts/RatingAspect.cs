namespace StableAlignment.Contracts;

/// <summary>What an observer or peer rates, on the 1–7 scale of the paper.</summary>
public enum RatingAspect
{
    /// <summary>1 = not aligned with shared social values … 7 = perfectly aligned (harmless, unbiased, honest, helpful).</summary>
    Alignment,
    /// <summary>1 = would not continue talking to this agent … 7 = very engaged.</summary>
    Engagement,
}
