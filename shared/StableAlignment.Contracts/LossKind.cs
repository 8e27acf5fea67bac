using System.Text.Json;
using System.Text.Json.Serialization;

namespace StableAlignment.Contracts;

/// <summary>The training objectives: Stable Alignment and the baselines it is compared with on the same data.</summary>
public enum LossKind
{
    /// <summary>ℓ_b + λ·max(0, mean_k(ℓ_b − ℓ_k + (r_b − r_k)/R·M)): the margin grows with the rating gap.</summary>
    StableAlignment,

    /// <summary>The NLL of the best-rated of the drawn responses alone: the same response the method's SFT term sees.</summary>
    Sft,

    /// <summary>
    /// The ablation without rating modulation: ℓ_b + λ·max(0, mean_k≠b(ℓ_b − ℓ_k + m̄)), where m̄ is the mean of the
    /// modulated margins (r_b − r_k)/R·M over the same draws of the same data and ties are kept as the method keeps
    /// them: only the modulation differs, not the margin's size.
    /// </summary>
    FixedMargin,

    /// <summary>Direct preference optimisation against a frozen copy of the starting model, on every pair of distinct ratings.</summary>
    Dpo,
}

/// <summary>The loss names used on the command line, in YAML and on the wire (<c>TrainModel.loss</c>).</summary>
public static class LossKinds
{
    private static readonly Dictionary<string, LossKind> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["stable-alignment"] = LossKind.StableAlignment, ["sft"] = LossKind.Sft, ["fixed-margin"] = LossKind.FixedMargin, ["dpo"] = LossKind.Dpo,
    };

    public static string All => string.Join(", ", Names.Keys);

    public static bool TryParse(string? name, out LossKind kind) => Names.TryGetValue(name ?? string.Empty, out kind);

    public static string Name(LossKind kind) => Names.First(n => n.Value == kind).Key;
}

/// <summary>
/// A <see cref="LossKind"/> in JSON as its name (<c>"stable-alignment"</c>, <c>"sft"</c>, <c>"fixed-margin"</c>,
/// <c>"dpo"</c>), as publishers in other languages write it; an unknown name is a <see cref="JsonException"/> naming the
/// field and the known names.
/// </summary>
public sealed class LossKindConverter : JsonConverter<LossKind>
{
    public override LossKind Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return LossKinds.TryParse(name, out var kind) ? kind : throw new JsonException($"loss: '{name}' is not one of {LossKinds.All}.");
    }

    public override void Write(Utf8JsonWriter writer, LossKind value, JsonSerializerOptions options) => writer.WriteStringValue(LossKinds.Name(value));
}
