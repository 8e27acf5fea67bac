using System.CommandLine;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text;

namespace StableAlignment.Cli;

/// <summary>
/// Command-line options made from a settings record (<see cref="Contracts.TrainingRecipe"/>,
/// <see cref="Contracts.SimulationSettings"/>, <see cref="Society.LoopRecipe"/>): one option per property that has a
/// <see cref="DescriptionAttribute"/>, named after the property in kebab case (<c>LearningRate</c> →
/// <c>--learning-rate</c>; the same name is the key in a --config YAML file), described by the attribute, defaulting to
/// the record's default and limited to its <see cref="AllowedValuesAttribute"/>. <see cref="Bind"/> reads them back
/// into a record, so the options, their defaults and the record cannot drift apart.
/// </summary>
public sealed class RecordOptions<T> where T : class, new()
{
    private readonly List<(PropertyInfo Property, Option Option)> _options = [];

    /// <param name="aliases">Older option names kept working, by property name.</param>
    /// <param name="only">The properties to make options of (null: all described ones).</param>
    public RecordOptions(IReadOnlyDictionary<string, string>? aliases = null, IReadOnlyCollection<string>? only = null)
    {
        var defaults = new T();
        foreach (var property in Properties)
        {
            if (only is not null && !only.Contains(property.Name))
            {
                continue;
            }

            var make = typeof(RecordOptions<T>).GetMethod(nameof(Make), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(property.PropertyType);
            var allowed = property.GetCustomAttribute<AllowedValuesAttribute>()?.Values.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!).ToArray();
            var option = (Option)make.Invoke(null, [OptionName(property.Name), Description(property), property.GetValue(defaults), allowed])!;
            if (aliases?.GetValueOrDefault(property.Name) is { } alias)
            {
                option.Aliases.Add(alias);
            }

            _options.Add((property, option));
        }
    }

    /// <summary>The record's described, settable properties, in declaration order.</summary>
    public static IEnumerable<PropertyInfo> Properties => typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.SetMethod is not null && p.GetCustomAttribute<DescriptionAttribute>() is not null)
        .OrderBy(p => p.DeclaringType == typeof(T) ? 1 : 0).ThenBy(p => p.MetadataToken);

    public IReadOnlyList<Option> Options => [.. _options.Select(o => o.Option)];

    /// <summary>The option of a property.</summary>
    public Option this[string property] => _options.Single(o => o.Property.Name == property).Option;

    /// <summary>
    /// The record the options give: each property from its option when the option was given, otherwise from
    /// <paramref name="preset"/> (when there is one; the value is then also recorded in <see cref="ConfigFile.Resolved"/>,
    /// so config.resolved.yaml shows what ran) or the record's default.
    /// </summary>
    public T Bind(ParseResult parsed, T? preset = null)
    {
        var result = new T();
        foreach (var (property, option) in _options)
        {
            object? value;
            if (preset is not null && !CliOptions.Given(parsed.CommandResult, option))
            {
                value = property.GetValue(preset);
                ConfigFile.Resolved[option.Name] = value!;
            }
            else
            {
                value = parsed.GetResult(option) is { } given ? given.GetValueOrDefault<object?>() : property.GetValue(result);
            }

            property.SetValue(result, value);
        }

        return result;
    }

    /// <summary>The option name of a property: <c>--</c> and its name in kebab case.</summary>
    public static string OptionName(string property) => RecordOptions.OptionName(property);

    private static string Description(PropertyInfo property) => property.GetCustomAttribute<DescriptionAttribute>()!.Description;

    private static Option<TValue> Make<TValue>(string name, string description, TValue @default, string[]? allowed)
    {
        var option = new Option<TValue>(name) { Description = description };
        if (typeof(TValue).IsEnum)
        {
            // An enum is written by its wire names (WireEnum: LossKind.FixedMargin is fixed-margin, InitialSetting.AllGood
            // all_good); its members' names in kebab case are taken too.
            var members = Enum.GetValues(typeof(TValue)).Cast<TValue>().ToArray();
            var wire = members.Select(v => Contracts.WireEnum.Name((Enum)(object)v!)).ToArray();
            var values = members.Select((v, i) => (Name: wire[i], Value: v)).ToDictionary(m => m.Name, m => m.Value, StringComparer.OrdinalIgnoreCase);
            foreach (var v in members)
            {
                values.TryAdd(OptionName(v!.ToString()!)[2..], v);
            }

            option.HelpName = string.Join("|", wire);
            option.DefaultValueFactory = _ => @default;
            option.CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : string.Empty;
                if (values.TryGetValue(text, out var value) || values.TryGetValue(OptionName(text)[2..], out value))
                {
                    return value;
                }

                r.AddError($"{name}: '{text}' is not one of {string.Join(", ", wire)}.");
                return @default;
            };
            return option;
        }

        if (@default is not null)
        {
            option.DefaultValueFactory = _ => @default;
        }

        if (allowed is not null)
        {
            option.AcceptOnlyFromAmong(allowed);
        }

        return option;
    }
}

/// <summary>The naming rule of <see cref="RecordOptions{T}"/>, for callers that name a setting without a record at hand.</summary>
public static class RecordOptions
{
    /// <summary>The option name of a property: <c>--</c> and its name in kebab case.</summary>
    public static string OptionName(string property)
    {
        var name = new StringBuilder("--");
        for (var i = 0; i < property.Length; i++)
        {
            if (char.IsUpper(property[i]) && i > 0)
            {
                name.Append('-');
            }

            name.Append(char.ToLowerInvariant(property[i]));
        }

        return name.ToString();
    }
}
