namespace StableAlignment.Evaluator;

public static class Wrappers
{
    public static List<string> Load(string? path)
    {
        var file = path ?? Path.Combine(AppContext.BaseDirectory, "data", "adversarial", "wrappers.txt");
        return File.Exists(file)
            ? [.. File.ReadLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains("{prompt}", StringComparison.Ordinal))]
            : throw new FileNotFoundException($"Adversarial wrappers not found: {file}", file);
    }
}
