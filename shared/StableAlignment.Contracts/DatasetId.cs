using System.Text.Json;
using System.Text.Json.Serialization;

namespace StableAlignment.Contracts;

/// <summary>
/// A dataset's id, with the one rule every API, consumer, job and command applies: 1–200 ASCII letters, digits, '-',
/// '_' and '.', never "..". An id names a folder under a configured root, so it can never be a path that escapes it,
/// and two different ids are two different folders. On the wire it is a plain string; a message or request body whose
/// id breaks the rule does not deserialize (the error names the field and the rule), so no service accepts one.
/// </summary>
[JsonConverter(typeof(DatasetIdConverter))]
public readonly record struct DatasetId
{
    public const int MaxLength = 200;

    public const string Rule = "1–200 of letters, digits, '-', '_', '.'; not '..'";

    private readonly string? _value;

    private DatasetId(string value) => _value = value;

    public string Value => _value ?? string.Empty;

    public static implicit operator string(DatasetId id) => id.Value;

    public override string ToString() => Value;

    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength && !id.Contains("..", StringComparison.Ordinal)
        && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    public static bool TryParse(string? text, out DatasetId id)
    {
        id = IsValid(text) ? new DatasetId(text!) : default;
        return id._value is not null;
    }

    /// <summary>The id when valid; otherwise an <see cref="ArgumentException"/> naming the field and the rule.</summary>
    public static DatasetId Parse(string? id, string field = "datasetId") =>
        TryParse(id, out var parsed) ? parsed : throw new ArgumentException(Problem(id, field));

    public static string Problem(string? id, string field = "datasetId") => $"{field}: '{id}' is not a dataset id ({Rule}).";
}

/// <summary>A <see cref="DatasetId"/> in JSON: a string that must follow the rule.</summary>
public sealed class DatasetIdConverter : JsonConverter<DatasetId>
{
    public override DatasetId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return DatasetId.TryParse(text, out var id) ? id : throw new JsonException(DatasetId.Problem(text));
    }

    public override void Write(Utf8JsonWriter writer, DatasetId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}
