namespace StableAlignment.Primitives;

/// <summary>
/// Resolves a name taken from a message or an API request (a base model, dataset, checkpoint or benchmark file)
/// under one configured root. Only relative names of plain segments are accepted: absolute paths, <c>..</c>,
/// backslashes, percent-encoded forms, control characters (NUL included) and symbolic links that lead out of the
/// root are refused. The CLI does not use this: an operator may name any local path.
/// </summary>
public static class ConfinedPath
{
    public const int MaxLength = 400;

    /// <summary>The full path of <paramref name="name"/> under <paramref name="root"/>, or a <see cref="PathEscapeException"/> naming <paramref name="field"/>.</summary>
    public static string Resolve(string root, string? name, string field)
    {
        if (Problem(name) is { } problem)
        {
            throw new PathEscapeException(field, name, problem);
        }

        var fullRoot = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var full = Path.GetFullPath(Path.Combine(fullRoot, name!));
        if (!IsUnder(fullRoot, full))
        {
            throw new PathEscapeException(field, name, $"it leaves {root}");
        }

        var realRoot = Real(fullRoot);
        var current = fullRoot;
        foreach (var segment in Path.GetRelativePath(fullRoot, full).Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, segment);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.Exists && info.LinkTarget is not null && !IsUnder(realRoot, Real(current)))
            {
                throw new PathEscapeException(field, name, $"'{segment}' is a symbolic link out of {root}");
            }
        }

        return full;
    }

    /// <summary>Null when <paramref name="name"/> has the form of a relative name, otherwise why not (it is not resolved here).</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "it is empty";
        }

        if (name.Length > MaxLength)
        {
            return $"it has {name.Length} characters (at most {MaxLength})";
        }

        if (name.Any(char.IsControl))
        {
            return "it contains a control character";
        }

        if (name.Contains('%'))
        {
            return "it contains '%' (percent-encoded names are not decoded)";
        }

        if (name.Contains('\\') || name.Contains(':'))
        {
            return "it contains '\\' or ':'";
        }

        if (Path.IsPathRooted(name) || name.StartsWith('~'))
        {
            return "it is an absolute path; give a name relative to the configured root";
        }

        return name.Split('/').Any(s => s is ".." or ".") ? "it contains a '.' or '..' segment" : null;
    }

    private static bool IsUnder(string root, string path) =>
        path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || path == root;

    /// <summary>The path with every symbolic link on the way resolved (as far as the path exists).</summary>
    private static string Real(string path)
    {
        var full = Path.GetFullPath(path);
        var parts = full.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = Path.GetPathRoot(full)!;
        foreach (var part in parts)
        {
            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            current = info.Exists && info.ResolveLinkTarget(returnFinalTarget: true) is { } target ? Path.GetFullPath(target.FullName) : next;
        }

        return current;
    }
}

/// <summary>A name from a message or request that does not stay under its configured root.</summary>
public sealed class PathEscapeException(string field, string? name, string reason)
    : ArgumentException($"{field}: '{Printable(name)}' is refused: {reason}.")
{
    public string Field { get; } = field;

    private static string Printable(string? s) =>
        s is null ? "" : string.Concat(s.Take(120).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
