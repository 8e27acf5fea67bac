using System.Text.RegularExpressions;

namespace StableAlignment.Tests;

/// <summary>
/// The manual stands alone: the README stays a short tour with its dashboard picture, every relative link of the README
/// and docs/ names a file of the repository, and nothing refers to design documents outside it.
/// </summary>
public sealed partial class DocumentationTests
{
    private static IEnumerable<string> Pages() =>
        new[] { RepositoryRoot.Combine("README.md") }.Concat(Directory.GetFiles(RepositoryRoot.Combine("docs"), "*.md"));

    [Fact]
    public void The_readme_is_a_short_tour_that_shows_the_dashboard()
    {
        var readme = File.ReadAllLines(RepositoryRoot.Combine("README.md"));
        Assert.True(readme.Length <= 150, $"README.md has {readme.Length} lines; keep it a short tour and move detail into docs/");
        Assert.Contains(readme, l => l.StartsWith("![", StringComparison.Ordinal) && l.Contains("dashboard", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Every_relative_link_names_a_file_of_the_repository()
    {
        var broken = new List<string>();
        foreach (var page in Pages())
        {
            var folder = Path.GetDirectoryName(page)!;
            foreach (Match m in Link().Matches(File.ReadAllText(page)))
            {
                var target = m.Groups["target"].Value.Split('#')[0];
                if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                if (!File.Exists(Path.Combine(folder, target)) && !Directory.Exists(Path.Combine(folder, target)))
                {
                    broken.Add($"{Path.GetRelativePath(RepositoryRoot.Path, page)} → {target}");
                }
            }
        }

        Assert.True(broken.Count == 0, string.Join("\n", broken));
    }

    [Fact]
    public void No_page_cites_a_design_document_outside_the_repository()
    {
        var cites = Pages().Where(p => DesignCitation().IsMatch(File.ReadAllText(p))).Select(Path.GetFileName).ToList();
        Assert.True(cites.Count == 0, string.Join(", ", cites));
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"DESIGN(\.md| \d)")]
    private static partial Regex DesignCitation();
}
