using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text;
using StableAlignment.Contracts;
using StableAlignment.Testing;

namespace StableAlignment.Tests;

/// <summary>
/// The three recipe records are the one definition of their settings: every described property has a command-line
/// option, a YAML key and a documentation line whose default is the record's.
/// </summary>
public sealed class RecipeDefinitionTests
{
    public static TheoryData<string, string> Recipes => new()
    {
        { nameof(TrainingRecipe), "train" },
        { nameof(SimulationSettings), "simulate" },
        { nameof(LoopRecipe), "loop" },
    };

    private static Type TypeOf(string name) => typeof(TrainingRecipe).Assembly.GetType($"StableAlignment.Contracts.{name}")!;

    private static IEnumerable<PropertyInfo> Described(Type type) =>
        type.GetProperties().Where(p => p.SetMethod is not null && p.GetCustomAttribute<DescriptionAttribute>() is not null);

    private static string Kebab(string name) =>
        "--" + string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static string Text(object? value) => value switch
    {
        null => "none",
        bool b => b ? "true" : "false",
        Enum e => e.GetType().GetField(e.ToString())!.GetCustomAttribute<System.Text.Json.Serialization.JsonStringEnumMemberNameAttribute>()!.Name,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    [Fact]
    public void Option_names_are_the_properties_in_kebab_case()
    {
        Assert.Equal("--learning-rate", Kebab(nameof(TrainingRecipe.LearningRate)));
        Assert.Equal("--num-comp", Kebab(nameof(TrainingRecipe.NumComp)));
        Assert.Equal(27, Described(typeof(TrainingRecipe)).Count());
        Assert.Equal(8, Described(typeof(SimulationSettings)).Count());
    }

    [Theory]
    [MemberData(nameof(Recipes))]
    public void Every_property_has_a_documentation_line_with_the_records_default(string recipe, string command)
    {
        var type = TypeOf(recipe);
        var doc = File.ReadAllText(RepositoryRoot.Combine("docs", "configuration.md"));
        var start = doc.IndexOf($"### {recipe} (`sa {command}`", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/configuration.md has no section for {recipe}");
        var end = doc.IndexOf("\n#", start + 4, StringComparison.Ordinal);
        var rows = doc[start..(end < 0 ? doc.Length : end)].Split('\n').Where(l => l.StartsWith("| `--", StringComparison.Ordinal)).ToList();
        var defaults = Activator.CreateInstance(type)!;
        foreach (var property in Described(type))
        {
            var row = rows.SingleOrDefault(r => r.StartsWith($"| `{Kebab(property.Name)}`", StringComparison.Ordinal));
            Assert.True(row is not null, $"docs/configuration.md documents no {Kebab(property.Name)} ({recipe}.{property.Name})");
            var cells = row.Split(" | ");
            Assert.Equal($"`{property.Name}`", cells[1]);
            Assert.Equal($"`{Text(property.GetValue(defaults))}`", cells[2]);
        }

        Assert.Equal(Described(type).Count(), rows.Count); // and no line for a property that is gone
    }

    [Theory]
    [MemberData(nameof(Recipes))]
    public async Task Every_property_is_an_option_and_a_config_key(string recipe, string command)
    {
        var type = TypeOf(recipe);
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("recipe-" + command)).FullName;
        var (exit, help, err) = await SaProcess.RunAsync(folder, [command, "--help"]);
        Assert.True(exit == 0, err);
        var defaults = Activator.CreateInstance(type)!;
        var yaml = new StringBuilder();
        foreach (var property in Described(type))
        {
            Assert.Matches($"\\s{Kebab(property.Name)}[ ,]", help);
            var value = property.GetValue(defaults) ?? (property.PropertyType == typeof(string) ? "x" : 1);
            yaml.Append(CultureInfo.InvariantCulture, $"{Kebab(property.Name)[2..]}: {Text(value)}\n");
        }

        // The config file is read before --help is honoured: a key that is no option is refused (exit 2) first.
        var file = Path.Combine(folder, "all.yaml");
        await File.WriteAllTextAsync(file, yaml.ToString());
        (exit, _, err) = await SaProcess.RunAsync(folder, [command, "--config", file, "--help"]);
        Assert.True(exit == 0, err);
        await File.WriteAllTextAsync(file, yaml + "no-such-setting: 1\n");
        (exit, _, err) = await SaProcess.RunAsync(folder, [command, "--config", file, "--help"]);
        Assert.Equal(2, exit);
        Assert.Contains("'no-such-setting' is not an option", err, StringComparison.Ordinal);
    }
}
