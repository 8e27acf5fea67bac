namespace StableAlignment.Data;

/// <summary>A file that cannot be read as a question feed or prior, with where and why.</summary>
public sealed class FeedFormatException(string path, int line, string reason)
    : Exception($"{path}, line {line}: {reason}")
{
    public string Path { get; } = path;

    public int Line { get; } = line;
}
