using System.CommandLine;
using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace StableAlignment.Cli;

/// <summary>
/// <c>--config FILE.yaml</c> for every command: a YAML mapping of the command's option names (without the dashes) to
/// values (<c>epochs: 2</c>, <c>global: true</c>, a list for a repeatable option). Options given on the command line
/// win over the file. <see cref="WriteResolved"/> saves every option's final value as <c>config.resolved.yaml</c>
/// beside the command's output, so <c>--config OUT/config.resolved.yaml</c> repeats the run exactly.
/// </summary>
public static class ConfigFile
{
    public const string FileName = "config.resolved.yaml";

    /// <summary>The arguments with the file's options added (where the command line has none) and --config removed.</summary>
    public static string[] Merge(string[] args, RootCommand root)
    {
        var at = Array.IndexOf(args, "--config");
        if (at < 0)
        {
            return args;
        }

        if (at + 1 >= args.Length)
        {
            throw new ConfigException("--config needs a YAML file.");
        }

        var path = args[at + 1];
        var rest = args.Take(at).Concat(args.Skip(at + 2)).ToArray();
        var command = root.Parse(rest).CommandResult.Command;
        // An option's key is its name without the dashes; an older name (an alias) is accepted too.
        var options = OptionsOf(command, root).SelectMany(o => o.Aliases.Prepend(o.Name).Select(n => (Key: n.TrimStart('-'), Option: o)))
            .ToDictionary(o => o.Key, o => o.Option, StringComparer.Ordinal);
        var added = new List<string>();
        foreach (var (key, node) in Load(path))
        {
            if (!options.TryGetValue(key, out var option))
            {
                throw new ConfigException($"{path}: '{key}' is not an option of sa {command.Name} ({string.Join(", ", options.Keys.Order())}).");
            }

            if (rest.Contains(option.Name) || option.Aliases.Any(rest.Contains))
            {
                continue; // the command line wins
            }

            added.AddRange(Tokens(path, key, option, node));
        }

        return [.. rest, .. added];
    }

    /// <summary>Every option of the command and its values as parsed (defaults included), as YAML, into <paramref name="folder"/>.</summary>
    /// <summary>
    /// Values a command resolved otherwise than the parse says (a preset's, for options not given), by option name:
    /// <see cref="WriteResolved"/> writes these, so the file shows what ran.
    /// </summary>
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, object> Resolved = new(StringComparer.Ordinal);

    public static void WriteResolved(ParseResult parsed, RootCommand root, string folder)
    {
        var command = parsed.CommandResult.Command;
        var lines = new List<string> { $"# sa {FullName(parsed)} — every option as resolved on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; repeat with --config" };
        foreach (var option in OptionsOf(command, root).Where(o => o.Name is not ("--config" or "--help" or "--version" or "--verbose" or "--model-api-key" or "--api-key")))
        {
            var value = Resolved.TryGetValue(option.Name, out var resolved) ? Format(resolved)
                : parsed.GetResult(option) is { } result ? Value(result) : null;
            if (value is null)
            {
                continue;
            }

            lines.Add($"{option.Name.TrimStart('-')}: {value}");
        }

        Directory.CreateDirectory(folder);
        StableAlignment.Primitives.AtomicFile.WriteAllText(Path.Combine(folder, FileName), string.Join("\n", lines) + "\n");
    }

    private static string FullName(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r is not null && r.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent)
        {
            names.Insert(0, r.Command.Name);
        }

        return string.Join(' ', names);
    }

    private static string? Value(System.CommandLine.Parsing.OptionResult result)
    {
        object? v;
        try
        {
            v = result.GetValueOrDefault<object?>();
        }
        catch (InvalidCastException)
        {
            return null;
        }

        return Format(v);
    }

    private static string? Format(object? v)
    {
        return v switch
        {
            null => null,
            bool b => b ? "true" : "false",
            Enum e => Quote(Contracts.WireEnum.Name(e)),
            FileSystemInfo f => Quote(f.FullName),
            string s => Quote(Absolute(s)),
            System.Collections.IEnumerable list => "[" + string.Join(", ", list.Cast<object>().Select(x => Quote(x is FileSystemInfo fi ? fi.FullName : Convert.ToString(x, CultureInfo.InvariantCulture) ?? ""))) + "]",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => Quote(v.ToString() ?? ""),
        };
    }

    /// <summary>Paths in a string option (a file, a folder, or kind:path items separated by commas) made absolute, so the file works from anywhere.</summary>
    private static string Absolute(string value) => string.Join(',', value.Split(',').Select(item =>
    {
        static bool Exists(string p) => p.Length > 0 && (File.Exists(p) || Directory.Exists(p));
        var colon = item.IndexOf(':');
        return Exists(item) ? Path.GetFullPath(item)
            : colon > 0 && Exists(item[(colon + 1)..]) ? $"{item[..colon]}:{Path.GetFullPath(item[(colon + 1)..])}"
            : item;
    }));

    private static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static IEnumerable<Option> OptionsOf(Command command, RootCommand root) =>
        command.Options.Concat(root.Options.Where(o => o.Recursive && !command.Options.Contains(o)));

    private static IEnumerable<(string Key, YamlNode Node)> Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException($"--config: {path} does not exist.");
        }

        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ConfigException($"{path}: not valid YAML ({e.Start}: {e.Message}).");
        }

        if (stream.Documents.Count == 0)
        {
            yield break;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode map)
        {
            throw new ConfigException($"{path}: expected a mapping of option names to values.");
        }

        foreach (var (key, value) in map.Children)
        {
            yield return (((YamlScalarNode)key).Value ?? "", value);
        }
    }

    private static IEnumerable<string> Tokens(string path, string key, Option option, YamlNode node)
    {
        switch (node)
        {
            case YamlSequenceNode list:
                foreach (var item in list.Children)
                {
                    yield return option.Name;
                    yield return Scalar(path, key, item);
                }

                break;
            case YamlScalarNode when option.ValueType == typeof(bool):
                var text = Scalar(path, key, node);
                if (!bool.TryParse(text, out var flag))
                {
                    throw new ConfigException($"{path}: '{key}' is a switch: true or false, not '{text}'.");
                }

                if (flag)
                {
                    yield return option.Name;
                }

                break;
            default:
                yield return option.Name;
                yield return Scalar(path, key, node);
                break;
        }
    }

    private static string Scalar(string path, string key, YamlNode node) =>
        node is YamlScalarNode { Value: { } v } ? v : throw new ConfigException($"{path}: '{key}' needs a single value or a list of values.");
}

/// <summary>A config file that cannot be used, with the file and the key.</summary>
public sealed class ConfigException(string message) : Exception(message);
