using System.Globalization;
using System.Text;

namespace StableAlignment.Learning.Jinja;

/// <summary>The filters, tests and methods of strings, lists and dicts that chat templates use, with Python's results.</summary>
internal static class JinjaFilters
{
    public static object? Apply(string name, object? v, List<object?> a, Dictionary<string, object?> named) => name switch
    {
        "trim" => Text(v, name).Trim(),
        "upper" => Text(v, name).ToUpperInvariant(),
        "lower" => Text(v, name).ToLowerInvariant(),
        "title" => Title(Text(v, name)),
        "capitalize" => Capitalize(Text(v, name)),
        "length" or "count" => v switch
        {
            string s => (long)s.Length,
            List<object?> l => (long)l.Count,
            Dictionary<string, object?> d => (long)d.Count,
            _ => throw new ChatTemplateException($"{JinjaRuntime.TypeName(v)} has no length"),
        },
        "string" => JinjaRuntime.Str(v),
        "int" => v is string s && !long.TryParse(s.Trim(), CultureInfo.InvariantCulture, out _) ? 0L : JinjaRuntime.Int(v),
        "float" => v switch { long l => (double)l, double d => d, string s when double.TryParse(s, CultureInfo.InvariantCulture, out var d) => d, _ => 0.0 },
        "abs" => v switch { long l => (object)Math.Abs(l), double d => Math.Abs(d), _ => throw new ChatTemplateException("abs needs a number") },
        "default" or "d" => v is Undefined || (a.Count > 1 && JinjaRuntime.Truthy(a[1]) && !JinjaRuntime.Truthy(v)) ? (a.Count > 0 ? a[0] : string.Empty) : v,
        "first" => JinjaRuntime.Iterate(v).FirstOrDefault(Undefined.Value),
        "last" => v is List<object?> { Count: > 0 } l ? l[^1] : v is string { Length: > 0 } s ? s[^1].ToString() : Undefined.Value,
        "join" => string.Join(a.Count > 0 ? JinjaRuntime.Str(a[0]) : string.Empty, JinjaRuntime.Iterate(v).Select(JinjaRuntime.Str)),
        "list" => JinjaRuntime.Iterate(v).ToList(),
        "reverse" => v is string s ? new string([.. s.Reverse()]) : JinjaRuntime.Iterate(v).Reverse().ToList(),
        "replace" => Text(v, name).Replace(JinjaRuntime.Str(a[0]), JinjaRuntime.Str(a[1]), StringComparison.Ordinal),
        "safe" or "e" or "escape" when name == "safe" => v,
        "items" => v is Dictionary<string, object?> d ? d.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList() : throw new ChatTemplateException("items needs a dict"),
        "tojson" => ToJson(v, named.TryGetValue("indent", out var indent) && indent is long n ? (int)n : a.Count > 0 && a[0] is long m ? (int)m : null, 0),
        "map" => Map(v, a, named),
        "selectattr" or "rejectattr" => JinjaRuntime.Iterate(v).Where(x => SelectAttr(x, a) == (name == "selectattr")).ToList(),
        "select" or "reject" => JinjaRuntime.Iterate(v).Where(x => (a.Count == 0 ? JinjaRuntime.Truthy(x) : Test(JinjaRuntime.Str(a[0]), x, a[1..])) == (name == "select")).ToList(),
        "unique" => JinjaRuntime.Iterate(v).Aggregate(new List<object?>(), (acc, x) => { if (!acc.Any(y => JinjaRuntime.Equal(x, y))) { acc.Add(x); } return acc; }),
        "round" => v is double d ? Math.Round(d, a.Count > 0 ? (int)JinjaRuntime.Int(a[0]) : 0, MidpointRounding.ToEven) : v,
        "indent" => Indent(Text(v, name), a.Count > 0 ? (int)JinjaRuntime.Int(a[0]) : 4),
        _ => throw new ChatTemplateException($"the filter '{name}' is not supported"),
    };

    public static bool Test(string name, object? v, List<object?> a) => name switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "mapping" => v is Dictionary<string, object?>,
        "sequence" or "iterable" => v is List<object?> or string or Dictionary<string, object?>,
        "callable" => v is JinjaFunction,
        "odd" => JinjaRuntime.Int(v) % 2 != 0,
        "even" => JinjaRuntime.Int(v) % 2 == 0,
        "divisibleby" => JinjaRuntime.Int(v) % JinjaRuntime.Int(a[0]) == 0,
        "equalto" or "eq" or "sameas" => JinjaRuntime.Equal(v, a[0]),
        "ne" => !JinjaRuntime.Equal(v, a[0]),
        "in" => a[0] is List<object?> l ? l.Any(x => JinjaRuntime.Equal(x, v)) : a[0] is string s && v is string sub && s.Contains(sub, StringComparison.Ordinal),
        "lower" => v is string s && s == s.ToLowerInvariant(),
        "upper" => v is string s && s == s.ToUpperInvariant(),
        _ => throw new ChatTemplateException($"the test '{name}' is not supported"),
    };

    public static JinjaFunction? StringMethod(string s, string name) => name switch
    {
        "strip" => (a, _) => a.Count > 0 && a[0] is string chars ? s.Trim(chars.ToCharArray()) : s.Trim(),
        "lstrip" => (a, _) => a.Count > 0 && a[0] is string chars ? s.TrimStart(chars.ToCharArray()) : s.TrimStart(),
        "rstrip" => (a, _) => a.Count > 0 && a[0] is string chars ? s.TrimEnd(chars.ToCharArray()) : s.TrimEnd(),
        "upper" => (_, _) => s.ToUpperInvariant(),
        "lower" => (_, _) => s.ToLowerInvariant(),
        "title" => (_, _) => Title(s),
        "capitalize" => (_, _) => Capitalize(s),
        "startswith" => (a, _) => Prefixes(a[0]).Any(p => s.StartsWith(p, StringComparison.Ordinal)),
        "endswith" => (a, _) => Prefixes(a[0]).Any(p => s.EndsWith(p, StringComparison.Ordinal)),
        "split" => (a, _) => Split(s, a.Count > 0 && a[0] is string sep ? sep : null, a.Count > 1 ? (int)JinjaRuntime.Int(a[1]) : -1),
        "replace" => (a, _) => s.Replace(JinjaRuntime.Str(a[0]), JinjaRuntime.Str(a[1]), StringComparison.Ordinal),
        "find" => (a, _) => (long)s.IndexOf(JinjaRuntime.Str(a[0]), StringComparison.Ordinal),
        "count" => (a, _) => (long)CountOf(s, JinjaRuntime.Str(a[0])),
        "join" => (a, _) => string.Join(s, JinjaRuntime.Iterate(a[0]).Select(JinjaRuntime.Str)),
        "format" => (a, _) => Format(s, a),
        _ => null,
    };

    public static JinjaFunction? DictMethod(Dictionary<string, object?> d, string name) => name switch
    {
        "items" => (_, _) => d.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList(),
        "keys" => (_, _) => d.Keys.Select(k => (object?)k).ToList(),
        "values" => (_, _) => d.Values.ToList(),
        "get" => (a, _) => d.TryGetValue(JinjaRuntime.Str(a[0]), out var v) ? v : a.Count > 1 ? a[1] : null,
        _ => null,
    };

    public static JinjaFunction? ListMethod(List<object?> l, string name) => name switch
    {
        "append" => (a, _) => { l.Add(a[0]); return null; },
        "index" => (a, _) => (long)l.FindIndex(x => JinjaRuntime.Equal(x, a[0])),
        "count" => (a, _) => (long)l.Count(x => JinjaRuntime.Equal(x, a[0])),
        _ => null,
    };

    /// <summary>Python's repr of a list or dict (what printing one gives).</summary>
    public static string Repr(object? v) => v switch
    {
        null => "None",
        string s => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "'",
        List<object?> l => "[" + string.Join(", ", l.Select(Repr)) + "]",
        Dictionary<string, object?> d => "{" + string.Join(", ", d.Select(p => $"{Repr(p.Key)}: {Repr(p.Value)}")) + "}",
        _ => JinjaRuntime.Str(v),
    };

    /// <summary>json.dumps as transformers' tojson calls it: ensure_ascii off, ", " and ": " separators ("," and ": " with an indent).</summary>
    public static string ToJson(object? v, int? indent, int depth)
    {
        string Pad(int d) => indent is { } n ? "\n" + new string(' ', n * d) : string.Empty;
        return v switch
        {
            null or Undefined => "null",
            bool b => b ? "true" : "false",
            long l => l.ToString(CultureInfo.InvariantCulture),
            double d => JinjaRuntime.Str(d),
            string s => Quote(s),
            List<object?> { Count: 0 } => "[]",
            Dictionary<string, object?> { Count: 0 } => "{}",
            List<object?> l => "[" + string.Join(indent is null ? ", " : ",", l.Select(x => Pad(depth + 1) + ToJson(x, indent, depth + 1))) + Pad(depth) + "]",
            Dictionary<string, object?> d => "{" + string.Join(indent is null ? ", " : ",", d.Select(p => Pad(depth + 1) + Quote(p.Key) + ": " + ToJson(p.Value, indent, depth + 1))) + Pad(depth) + "}",
            _ => Quote(JinjaRuntime.Str(v)),
        };
    }

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }

    private static string Text(object? v, string filter) => v switch
    {
        string s => s,
        Undefined => string.Empty,
        _ => JinjaRuntime.Str(v),
    };

    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var start = true;
        foreach (var c in s)
        {
            sb.Append(start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            start = !char.IsLetterOrDigit(c);
        }

        return sb.ToString();
    }

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    private static IEnumerable<string> Prefixes(object? v) => v is List<object?> l ? l.Select(JinjaRuntime.Str) : [JinjaRuntime.Str(v)];

    private static List<object?> Split(string s, string? separator, int max)
    {
        if (separator is null)
        {
            return [.. s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(x => (object?)x)];
        }

        return [.. (max < 0 ? s.Split(separator) : s.Split(separator, max + 1)).Select(x => (object?)x)];
    }

    private static int CountOf(string s, string sub)
    {
        if (sub.Length == 0)
        {
            return s.Length + 1;
        }

        var n = 0;
        for (var i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    private static string Format(string s, List<object?> a)
    {
        var next = 0;
        return System.Text.RegularExpressions.Regex.Replace(s, @"\{(\d*)\}", m => JinjaRuntime.Str(a[m.Groups[1].Value.Length == 0 ? next++ : int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)]));
    }

    private static string Indent(string s, int width) =>
        string.Join("\n", s.Split('\n').Select((line, i) => i == 0 || line.Length == 0 ? line : new string(' ', width) + line));

    private static object? Map(object? v, List<object?> a, Dictionary<string, object?> named)
    {
        if (named.TryGetValue("attribute", out var attribute))
        {
            return JinjaRuntime.Iterate(v).Select(x => JinjaRuntime.Index(x, attribute)).ToList();
        }

        var filter = JinjaRuntime.Str(a[0]);
        return JinjaRuntime.Iterate(v).Select(x => Apply(filter, x, a[1..], [])).ToList();
    }

    private static bool SelectAttr(object? item, List<object?> a)
    {
        var value = JinjaRuntime.Index(item, a[0]);
        return a.Count == 1 ? JinjaRuntime.Truthy(value) : Test(JinjaRuntime.Str(a[1]), value, a[2..]);
    }
}
