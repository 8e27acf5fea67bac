using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace StableAlignment.Tests;

/// <summary>
/// The dependency rules of docs/architecture.md, read from the project files: every project reference must be allowed
/// by the table there, some projects must never reach certain packages, each service's code lives in its own folder,
/// and each service touches only the collections it owns.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly string[] Services =
        ["AgentRunner", "ObserverRater", "MemoryStore", "DatasetBuilder", "Trainer", "Evaluator", "Gateway", "ModelServer"];

    private static readonly string Document = File.ReadAllText(RepositoryRoot.Combine("docs", "architecture.md"));

    /// <summary>Every project of the repository by its short name (StableAlignment. taken off), with its path.</summary>
    private static readonly Dictionary<string, string> Projects =
        Directory.EnumerateFiles(RepositoryRoot.Path, "*.csproj", SearchOption.AllDirectories)
            .Where(p => !Segments(p).Any(s => s is "bin" or "obj" or ".git" or "artifacts" or ".state"))
            .ToDictionary(p => Short(Path.GetFileNameWithoutExtension(p)));

    private static string[] Segments(string path) => Path.GetRelativePath(RepositoryRoot.Path, path).Split(Path.DirectorySeparatorChar);

    private static string Short(string name) => name.StartsWith("StableAlignment.", StringComparison.Ordinal) ? name["StableAlignment.".Length..] : name;

    private static List<string> References(string project) =>
        [.. XDocument.Load(Projects[project]).Descendants("ProjectReference")
            .Select(r => Short(Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/'))))];

    /// <summary>The rows of a two-column table between <c>&lt;!-- NAME: begin --&gt;</c> and its end marker.</summary>
    private static Dictionary<string, string[]> Table(string name)
    {
        var begin = Document.IndexOf($"<!-- {name}: begin -->", StringComparison.Ordinal);
        var end = Document.IndexOf($"<!-- {name}: end -->", StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"docs/architecture.md has no {name} table");
        return Document[begin..end].Split('\n')
            .Select(line => line.Trim().Trim('|').Split('|'))
            .Where(cells => cells.Length == 2 && !cells[0].Trim().StartsWith('-') && cells[0].Trim() != "project")
            .ToDictionary(
                cells => cells[0].Trim(),
                cells => cells[1].Trim() == "—" ? [] : cells[1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Every_project_reference_is_allowed_by_the_table_in_docs_architecture()
    {
        var allowed = Table("allowed-references");
        Assert.All(Projects.Keys, p => Assert.True(allowed.ContainsKey(p), $"{p} is not in the allowed-references table of docs/architecture.md"));
        Assert.All(allowed.Keys, p => Assert.True(Projects.ContainsKey(p), $"docs/architecture.md lists {p}, which is no project here"));
        foreach (var (project, _) in Projects)
        {
            Assert.All(References(project), r => Assert.True(allowed[project].Contains(r), $"{project} references {r}, which docs/architecture.md does not allow"));
        }
    }

    /// <summary>The whole package closure (NuGet's, after restore) of each project named in the forbidden-packages table.</summary>
    [Fact]
    public void The_model_code_reaches_no_database_the_model_server_no_bus_and_memory_store_no_semantic_kernel()
    {
        var forbidden = Table("forbidden-packages");
        Assert.Contains("Learning", forbidden.Keys);
        Assert.Contains("ModelServer", forbidden.Keys);
        Assert.Contains("MemoryStore", forbidden.Keys);
        foreach (var (project, packages) in forbidden)
        {
            var reached = PackageClosure(project);
            Assert.All(packages, p => Assert.False(reached.Contains(p), $"{project} reaches the package {p}"));
        }
    }

    /// <summary>The check above would pass on an empty closure; this shows that it reads a real one.</summary>
    [Fact]
    public void The_package_closure_sees_packages_that_come_through_other_projects()
    {
        Assert.Contains("MongoDB.Driver", PackageClosure("Trainer"));
        Assert.Contains("MassTransit", PackageClosure("Trainer"));
        Assert.Contains("TorchSharp", PackageClosure("ModelServer"));
        Assert.DoesNotContain("TorchSharp", PackageClosure("Contracts"));
    }

    private static HashSet<string> PackageClosure(string project)
    {
        var assets = Path.Combine(Path.GetDirectoryName(Projects[project])!, "obj", "project.assets.json");
        Assert.True(File.Exists(assets), $"{assets} is missing: restore the solution first");
        using var json = JsonDocument.Parse(File.ReadAllText(assets));
        return [.. json.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(l => l.Value.GetProperty("type").GetString() == "package")
            .Select(l => l.Name.Split('/')[0])];
    }

    [Fact]
    public void Every_path_of_the_where_do_I_change_X_table_exists()
    {
        var start = Document.IndexOf("### Where do I change X", StringComparison.Ordinal);
        var end = Document.IndexOf("\n## ", start, StringComparison.Ordinal);
        var rows = Document[start..end].Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("| to change", StringComparison.Ordinal)).ToList();
        Assert.True(rows.Count >= 15, $"{rows.Count} rows");
        var checkedPaths = 0;
        foreach (var row in rows)
        {
            // A folder or file in backticks, then optionally "(`a.cs`, `b.cs`)": files of the last folder named before them.
            string? folder = null;
            foreach (Match m in Regex.Matches(row.Split(" | ")[^1], @"`([^`]+)`"))
            {
                var path = m.Groups[1].Value;
                if (!path.Contains('/', StringComparison.Ordinal) && !path.EndsWith(".cs", StringComparison.Ordinal) && !path.EndsWith(".json", StringComparison.Ordinal))
                {
                    continue; // a name, not a path (a make target, a message)
                }

                var full = Rooted(path)
                    ? RepositoryRoot.Combine(path.Split('/', StringSplitOptions.RemoveEmptyEntries))
                    : System.IO.Path.Combine(folder ?? throw new Xunit.Sdk.XunitException($"'{path}' in '{row}' names no folder"), path);
                Assert.True(File.Exists(full) || Directory.Exists(full), $"docs/architecture.md points at {path}, which does not exist (row: {row})");
                if (Directory.Exists(full) && Rooted(path))
                {
                    folder = full; // the base of the file names that follow it
                }

                checkedPaths++;
            }
        }

        Assert.True(checkedPaths >= 30, $"{checkedPaths} paths checked");

        static bool Rooted(string path) => path.Split('/')[0] is "services" or "shared" or "apps" or "infra" or "tests" or "docs";
    }

    [Fact]
    public void Each_service_lives_under_services_NAME_as_a_library_and_its_host()
    {
        Assert.All(Services, service =>
        {
            var folder = RepositoryRoot.Combine("services", service);
            Assert.Equal(Path.Combine(folder, $"StableAlignment.{service}", $"StableAlignment.{service}.csproj"), Projects[service]);
            Assert.Equal(Path.Combine(folder, $"StableAlignment.{service}.Host", $"StableAlignment.{service}.Host.csproj"), Projects[service + ".Host"]);
            Assert.Equal([service], References(service + ".Host"));
        });
        Assert.Equal(
            Services.Order(StringComparer.Ordinal),
            Directory.EnumerateDirectories(RepositoryRoot.Combine("services")).Select(Path.GetFileName).Order(StringComparer.Ordinal)!);
        Assert.All(Directory.EnumerateDirectories(RepositoryRoot.Combine("shared")), d =>
            Assert.DoesNotContain(Short(Path.GetFileName(d)), Services));
    }

    [Fact]
    public void No_service_library_references_another_service()
    {
        foreach (var service in Services)
        {
            Assert.All(References(service), r => Assert.DoesNotContain(r.Replace(".Host", "", StringComparison.Ordinal), Services));
        }
    }

    /// <summary>Every consumer a service registers through AddServiceConsumers gets the shared retry policy.</summary>
    [Fact]
    public void Every_consumer_of_a_service_has_a_definition_with_the_shared_retry_policy()
    {
        System.Reflection.Assembly[] services =
        [
            typeof(AgentRunner.AgentRunnerRegistration).Assembly, typeof(ObserverRater.ObserverRaterRegistration).Assembly,
            typeof(MemoryStore.MemoryStoreRegistration).Assembly, typeof(DatasetBuilder.DatasetBuilderRegistration).Assembly,
            typeof(Trainer.TrainerRegistration).Assembly, typeof(Evaluator.EvaluatorRegistration).Assembly,
        ];
        // Registered by agent-runner itself, on a temporary queue per instance (every instance hears every record).
        Type[] own = [typeof(AgentRunner.InteractionStoredConsumer)];
        foreach (var assembly in services)
        {
            var defined = Hosting.ServiceConsumers.Definitions(assembly).Select(d => d.Consumer).ToHashSet();
            var consumers = assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false } && typeof(MassTransit.IConsumer).IsAssignableFrom(t));
            Assert.All(consumers.Except(own), c => Assert.True(defined.Contains(c), $"{c.Name} has no RetryingConsumerDefinition"));
            Assert.NotEmpty(defined);
        }

        Assert.Contains(typeof(AgentRunner.LoopCoordinator), Hosting.ServiceConsumers.Definitions(typeof(AgentRunner.LoopCoordinator).Assembly).Select(d => d.Consumer));
    }

    [Fact]
    public void The_model_code_has_no_web_framework()
    {
        var learning = XDocument.Load(Projects["Learning"]);
        Assert.DoesNotContain(learning.Descendants("FrameworkReference"), f => f.Attribute("Include")!.Value == "Microsoft.AspNetCore.App");
    }

    /// <summary>The store's repositories by owner: agent-runner keeps runs; memory-store keeps interactions and memories.</summary>
    [Theory]
    [InlineData("AgentRunner", "IRunRepository", "IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("MemoryStore", "IInteractionRepository,IAgentMemoryRepository", "IRunRepository")]
    [InlineData("DatasetBuilder", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("ObserverRater", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("Trainer", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("Evaluator", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("Gateway", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    [InlineData("ModelServer", "", "IRunRepository,IInteractionRepository,IAgentMemoryRepository")]
    public void Each_service_touches_only_the_collections_it_owns(string service, string owned, string others)
    {
        var folder = RepositoryRoot.Combine("services", service);
        var sources = Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Segments(f).Any(s => s is "bin" or "obj"))
            .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllText);
        Assert.NotEmpty(sources);
        foreach (var repository in others.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var users = sources.Where(x => Regex.IsMatch(x.Value, $@"\b{repository}\b")).Select(x => x.Key).ToList();
            Assert.True(users.Count == 0, $"{service} uses {repository}, which another service owns, in {string.Join(", ", users)}");
        }

        foreach (var repository in owned.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.Contains(sources.Values, text => text.Contains(repository, StringComparison.Ordinal));
        }
    }
}
