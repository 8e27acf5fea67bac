using System.Text.Json.Serialization;

namespace StableAlignment.Contracts;

/// <summary>The training objectives: Stable Alignment and the baselines it is compared with on the same data. Named outside .NET as <see cref="WireEnum{T}"/> says.</summary>
public enum LossKind
{
    /// <summary>ℓ_b + λ·max(0, mean_k(ℓ_b − ℓ_k + (r_b − r_k)/R·M)): the margin grows with the rating gap.</summary>
    [JsonStringEnumMemberName("stable-alignment")]
    StableAlignment,

    /// <summary>The NLL of the best-rated of the drawn responses alone: the same response the method's SFT term sees.</summary>
    [JsonStringEnumMemberName("sft")]
    Sft,

    /// <summary>
    /// The ablation without rating modulation: ℓ_b + λ·max(0, mean_k≠b(ℓ_b − ℓ_k + m̄)), where m̄ is the mean of the
    /// modulated margins (r_b − r_k)/R·M over the same draws of the same data and ties are kept as the method keeps
    /// them: only the modulation differs, not the margin's size.
    /// </summary>
    [JsonStringEnumMemberName("fixed-margin")]
    FixedMargin,

    /// <summary>Direct preference optimisation against a frozen copy of the starting model, on every pair of distinct ratings.</summary>
    [JsonStringEnumMemberName("dpo")]
    Dpo,
}

/// <summary>A <see cref="LossKind"/> in JSON as its name, as publishers in other languages write it.</summary>
public sealed class LossKindConverter() : WireEnumConverter<LossKind>("loss");
