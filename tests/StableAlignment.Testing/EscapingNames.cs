namespace StableAlignment.Testing;

/// <summary>
/// Configured roots with a folder outside them, and the names that try to reach it: <c>..</c>, absolute paths,
/// a symbolic link out of the root, percent-encoded forms and a NUL byte.
/// </summary>
public sealed class EscapingNames
{
    public EscapingNames(string name)
    {
        var top = Directory.CreateDirectory(TestConfiguration.TempPath(name)).FullName;
        Outside = Directory.CreateDirectory(Path.Combine(top, "outside")).FullName;
        File.WriteAllText(Path.Combine(Outside, "secret.json"), "{\"secret\": true}");
        File.WriteAllText(Path.Combine(Outside, "config.json"), "{}");
        foreach (var root in new[] { "models", "checkpoints", "benchmarks", "datasets" })
        {
            var folder = Directory.CreateDirectory(Path.Combine(top, root)).FullName;
            Directory.CreateSymbolicLink(Path.Combine(folder, "link-out"), Outside);
        }

        Top = top;
    }

    public string Top { get; }

    public string Outside { get; }

    public string Root(string name) => Path.Combine(Top, name);

    /// <summary>Every escaping form of a name, as a caller would send it.</summary>
    public IReadOnlyList<string> Forms =>
    [
        "../outside",
        "a/../../outside",
        "..",
        Outside,
        "/etc/passwd",
        "~/outside",
        "%2e%2e%2foutside",
        "..%2Foutside",
        "link-out",
        "link-out/secret.json",
        "ok\0/../../outside",
        "..\\outside",
    ];
}
