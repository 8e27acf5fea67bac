using System.Xml.Linq;
using StableAlignment.Testing;

namespace StableAlignment.Tests;

/// <summary>
/// The dependency rules of docs/architecture.md, read from the project files: a service library depends only on the
/// common libraries (and its own model code), never on another service library; each host carries one service.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly string[] ServiceLibraries =
        ["AgentRunner", "ObserverRater", "MemoryStore", "DatasetBuilder", "Training", "Evaluation", "Gateway.Core"];

    /// <summary>What any service library may use; Learning is the model code of Training and Evaluation.</summary>
    private static readonly string[] Common = ["Contracts", "Hosting", "Storage", "Models", "Data", "Learning"];

    private static List<string> References(string project) =>
        [.. XDocument.Load(project).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
            .Select(name => name.StartsWith("StableAlignment.", StringComparison.Ordinal) ? name["StableAlignment.".Length..] : name)];

    private static string Library(string name) => RepositoryRoot.Combine("shared", $"StableAlignment.{name}", $"StableAlignment.{name}.csproj");

    [Fact]
    public void No_service_library_references_another_service_library()
    {
        foreach (var library in ServiceLibraries)
        {
            var references = References(Library(library));
            Assert.All(references, r => Assert.True(Common.Contains(r), $"StableAlignment.{library} references StableAlignment.{r}, which is not a common library"));
        }
    }

    [Fact]
    public void The_common_libraries_reference_no_service_library_and_the_model_code_no_web_framework()
    {
        foreach (var library in Common)
        {
            Assert.All(References(Library(library)), r => Assert.DoesNotContain(r, ServiceLibraries));
        }

        var learning = XDocument.Load(Library("Learning"));
        Assert.DoesNotContain(learning.Descendants("FrameworkReference"), f => f.Attribute("Include")!.Value == "Microsoft.AspNetCore.App");
    }

    [Theory]
    [InlineData("AgentRunner", "AgentRunner")]
    [InlineData("ObserverRater", "ObserverRater")]
    [InlineData("MemoryStore", "MemoryStore")]
    [InlineData("DatasetBuilder", "DatasetBuilder")]
    [InlineData("Trainer", "Training")]
    [InlineData("Evaluator", "Evaluation")]
    [InlineData("Gateway", "Gateway.Core")]
    public void Each_host_carries_its_own_service_only(string host, string library) =>
        Assert.Equal([library], References(RepositoryRoot.Combine("services", host, $"{host}.csproj")));

    /// <summary>The store's repositories by owner: agent-runner keeps runs; memory-store keeps interactions and memories.</summary>
    [Theory]
    [InlineData("AgentRunner", "IRunRepository", "IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("MemoryStore", "IInteractionRepository,IAgentMemoryRepository", "IRunRepository")]
    [InlineData("DatasetBuilder", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("ObserverRater", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("Training", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("Evaluation", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("Gateway.Core", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    public void Each_service_touches_only_the_collections_it_owns(string library, string owned, string others)
    {
        var folder = Path.GetDirectoryName(Library(library))!;
        var sources = Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllText);
        foreach (var repository in others.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var users = sources.Where(x => System.Text.RegularExpressions.Regex.IsMatch(x.Value, $@"\b{repository}\b")).Select(x => x.Key).ToList();
            Assert.True(users.Count == 0, $"{library} uses {repository}, which another service owns, in {string.Join(", ", users)}");
        }

        foreach (var repository in owned.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.Contains(sources.Values, text => text.Contains(repository, StringComparison.Ordinal));
        }
    }
}
