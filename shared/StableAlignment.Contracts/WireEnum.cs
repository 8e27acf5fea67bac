using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StableAlignment.Contracts;

/// <summary>
/// The names an enum has outside .NET — on the wire, in stored documents, on the command line and in YAML: each
/// member's <see cref="JsonStringEnumMemberNameAttribute"/> (so System.Text.Json's own enum converter writes the same
/// names), or the member's name when it has none. Reading is case-insensitive and also takes the member's .NET name.
/// </summary>
public static class WireEnum<T> where T : struct, Enum
{
    private static readonly (string Name, T Value)[] Members = [.. Enum.GetValues<T>().Select(v => (WireEnum.Name(v), v))];

    /// <summary>Every name, in declaration order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Members.Select(m => m.Name)];

    public static string All { get; } = string.Join(", ", Names);

    public static string Name(T value) => Members.First(m => EqualityComparer<T>.Default.Equals(m.Value, value)).Name;

    public static bool TryParse(string? name, out T value)
    {
        foreach (var m in Members)
        {
            if (string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase) || string.Equals(m.Value.ToString(), name, StringComparison.OrdinalIgnoreCase))
            {
                value = m.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>The member named <paramref name="name"/>; otherwise a <see cref="FormatException"/> naming <paramref name="field"/> and the names.</summary>
    public static T Parse(string? name, string field) =>
        TryParse(name, out var value) ? value : throw new FormatException($"{field}: '{name}' is not one of {All}.");
}

/// <summary>The wire name of any enum value, when its type is known only at run time (option parsers, YAML writers).</summary>
public static class WireEnum
{
    public static string Name(Enum value) =>
        value.GetType().GetField(value.ToString())?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? value.ToString();
}

/// <summary>
/// An enum in JSON by its <see cref="WireEnum{T}"/> names; an unknown name is a <see cref="JsonException"/> that names
/// the field and the known names (System.Text.Json's own converter names neither). Used on a property with
/// <c>[JsonConverter]</c>, which takes precedence over a host's global enum converter.
/// </summary>
public abstract class WireEnumConverter<T>(string field) : JsonConverter<T> where T : struct, Enum
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return WireEnum<T>.TryParse(name, out var value) ? value : throw new JsonException($"{field}: '{name}' is not one of {WireEnum<T>.All}.");
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(WireEnum<T>.Name(value));
}
