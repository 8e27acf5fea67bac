namespace StableAlignment.Contracts;

/// <summary>
/// The one rule for a dataset id, used by every API, consumer and job that takes one: 1–200 ASCII letters, digits,
/// '-', '_' and '.', never "..". An id names a folder under a configured root, so it can never be a path that escapes it.
/// </summary>
public static class DatasetId
{
    public const int MaxLength = 200;

    public const string Rule = "letters, digits, '-', '_', '.'";

    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength && !id.Contains("..", StringComparison.Ordinal)
        && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>The id when valid; otherwise an <see cref="ArgumentException"/> naming the field and the rule.</summary>
    public static string Parse(string? id, string field = "datasetId") =>
        IsValid(id) ? id! : throw new ArgumentException($"{field}: '{id}' is not a dataset id ({Rule}).");
}
