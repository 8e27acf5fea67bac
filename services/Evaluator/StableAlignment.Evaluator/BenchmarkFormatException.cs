namespace StableAlignment.Evaluator;

/// <summary>A benchmark file that cannot be used, with the file, the line or example, and the reason.</summary>
public sealed class BenchmarkFormatException(string path, string where, string reason) : Exception($"{path}, {where}: {reason}");
