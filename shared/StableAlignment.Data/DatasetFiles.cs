namespace StableAlignment.Data;

/// <summary>Export formats: the original release's JSON, Alpaca JSON Lines, TRL preference pairs.</summary>
public enum DatasetFormat
{
    /// <summary>A JSON array of <c>{query, responses, scores, models}</c>, as the original training code reads.</summary>
    Authors,

    /// <summary>JSON Lines <c>{instruction, input, output, rating, type, model}</c>.</summary>
    Alpaca,

    /// <summary>JSON Lines <c>{prompt, chosen, rejected, score_chosen, score_rejected}</c>, one per ordered pair of distinct ratings.</summary>
    Trl,
}

public static class DatasetFormats
{
    /// <summary>authors, alpaca or trl (any case); a <see cref="FormatException"/> naming the choices otherwise.</summary>
    public static DatasetFormat Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "authors" => DatasetFormat.Authors,
        "alpaca" => DatasetFormat.Alpaca,
        "trl" => DatasetFormat.Trl,
        _ => throw new FormatException($"Unknown format '{text}' (use authors, alpaca, trl)."),
    };
}

/// <summary>Names of a dataset folder's files, as dataset-builder writes them and the trainer reads them.</summary>
public static class DatasetFiles
{
    public static string Extension(DatasetFormat format) => format == DatasetFormat.Authors ? "json" : "jsonl";

    public static string FileName(DatasetFormat format, bool heldout) =>
        $"{(heldout ? "heldout" : "train")}.{format.ToString().ToLowerInvariant()}.{Extension(format)}";

    /// <summary>The training split in the original release's form: what the trainer reads.</summary>
    public static string Training => FileName(DatasetFormat.Authors, heldout: false);
}

/// <summary>The short Alpaca prompt of the method (docs/method.md §1.4), without the Input block when the input is empty.</summary>
public static class AlpacaPrompt
{
    public static string Query(string instruction, string input) => input.Length == 0
        ? $"### Instruction:\n{instruction}\n\n### Response:"
        : $"### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:";
}
