using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace StableAlignment.Learning.Jinja;

/// <summary>A value no variable or key holds: false, prints as nothing, and <c>is defined</c> is false.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Value = new();
}

/// <summary><c>namespace(…)</c>: a dict whose attributes a <c>set</c> inside a loop can change for the code after it.</summary>
internal sealed class JinjaNamespace : Dictionary<string, object?>;

internal delegate object? JinjaFunction(List<object?> args, Dictionary<string, object?> named);

internal sealed class JinjaScope(JinjaScope? parent)
{
    private readonly Dictionary<string, object?> _values = [];

    public object? Get(string name) =>
        _values.TryGetValue(name, out var v) ? v : parent is not null ? parent.Get(name) : Undefined.Value;

    public void Set(string name, object? value) => _values[name] = value;
}

/// <summary>Runs parsed templates with Python's meaning of the values: None, True/False, ints and floats, str, list and dict.</summary>
internal static class JinjaRuntime
{
    public static void AddGlobals(JinjaScope scope)
    {
        scope.Set("raise_exception", new JinjaFunction((a, _) => throw new ChatTemplateException(a.Count > 0 ? Str(a[0]) : "the template raised an exception")));
        scope.Set("namespace", new JinjaFunction((a, named) =>
        {
            var ns = new JinjaNamespace();
            if (a.Count > 0 && a[0] is Dictionary<string, object?> initial)
            {
                foreach (var (k, v) in initial)
                {
                    ns[k] = v;
                }
            }

            foreach (var (k, v) in named)
            {
                ns[k] = v;
            }

            return ns;
        }));
        scope.Set("range", new JinjaFunction((a, _) =>
        {
            var (start, stop, step) = a.Count switch
            {
                1 => (0L, Int(a[0]), 1L),
                2 => (Int(a[0]), Int(a[1]), 1L),
                _ => (Int(a[0]), Int(a[1]), Int(a[2])),
            };
            var list = new List<object?>();
            for (var i = start; step > 0 ? i < stop : i > stop; i += step)
            {
                list.Add(i);
            }

            return list;
        }));
        scope.Set("strftime_now", new JinjaFunction((a, _) => StrFTime(DateTime.Now, Str(a[0]))));
    }

    /// <summary>Inputs from .NET (records of dictionaries and lists, JSON nodes) as template values.</summary>
    public static object? FromClr(object? value) => value switch
    {
        null or string or bool or long or double or Undefined or JinjaFunction => value,
        int i => (long)i,
        float f => (double)f,
        decimal d => (double)d,
        JsonValue j => j.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.String => j.GetValue<string>(),
            System.Text.Json.JsonValueKind.True => true,
            System.Text.Json.JsonValueKind.False => false,
            System.Text.Json.JsonValueKind.Number => j.TryGetValue<long>(out var l) ? l : j.GetValue<double>(),
            _ => null,
        },
        JsonObject o => o.ToDictionary(p => p.Key, p => FromClr(p.Value)),
        JsonArray a => a.Select(FromClr).ToList(),
        IDictionary<string, object?> d => d.ToDictionary(p => p.Key, p => FromClr(p.Value)),
        IReadOnlyDictionary<string, object?> d => d.ToDictionary(p => p.Key, p => FromClr(p.Value)),
        IDictionary<string, string> d => d.ToDictionary(p => p.Key, p => (object?)p.Value),
        IEnumerable e => e.Cast<object?>().Select(FromClr).ToList(),
        _ => value.ToString(),
    };

    public static void Run(List<Node> nodes, JinjaScope scope, StringBuilder output)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode t:
                    output.Append(t.Text);
                    break;
                case OutputNode o:
                    output.Append(Str(Eval(o.Value, scope)));
                    break;
                case IfNode i:
                    var taken = i.Branches.FirstOrDefault(b => Truthy(Eval(b.Condition, scope)));
                    if (taken.Body is not null)
                    {
                        Run(taken.Body, scope, output);
                    }
                    else if (i.Else is not null)
                    {
                        Run(i.Else, scope, output);
                    }

                    break;
                case ForNode f:
                    Loop(f, scope, output);
                    break;
                case SetNode s:
                    var value = Eval(s.Value, scope);
                    if (s.Member is null)
                    {
                        scope.Set(s.Target, value);
                    }
                    else if (scope.Get(s.Target) is JinjaNamespace ns)
                    {
                        ns[s.Member] = value;
                    }
                    else
                    {
                        throw new ChatTemplateException($"set {s.Target}.{s.Member}: {s.Target} is not a namespace");
                    }

                    break;
                case MacroNode m:
                    scope.Set(m.Name, new JinjaFunction((args, named) =>
                    {
                        var inner = new JinjaScope(scope);
                        for (var k = 0; k < m.Parameters.Count; k++)
                        {
                            var (name, fallback) = m.Parameters[k];
                            inner.Set(name, k < args.Count ? args[k] : named.TryGetValue(name, out var v) ? v : fallback is null ? Undefined.Value : Eval(fallback, scope));
                        }

                        var text = new StringBuilder();
                        Run(m.Body, inner, text);
                        return text.ToString();
                    }));
                    break;
            }
        }
    }

    private static void Loop(ForNode f, JinjaScope scope, StringBuilder output)
    {
        var all = Iterate(Eval(f.Items, scope)).ToList();
        var items = new List<object?>();
        foreach (var item in all)
        {
            if (f.Condition is null || Truthy(Eval(f.Condition, Bind(f.Targets, item, new JinjaScope(scope)))))
            {
                items.Add(item);
            }
        }

        for (var i = 0; i < items.Count; i++)
        {
            var inner = Bind(f.Targets, items[i], new JinjaScope(scope));
            inner.Set("loop", new Dictionary<string, object?>
            {
                ["index"] = (long)(i + 1), ["index0"] = (long)i, ["revindex"] = (long)(items.Count - i), ["revindex0"] = (long)(items.Count - i - 1),
                ["first"] = i == 0, ["last"] = i == items.Count - 1, ["length"] = (long)items.Count,
                ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value, ["nextitem"] = i + 1 < items.Count ? items[i + 1] : Undefined.Value,
            });
            Run(f.Body, inner, output);
        }

        if (items.Count == 0 && f.Else is not null)
        {
            Run(f.Else, scope, output);
        }
    }

    private static JinjaScope Bind(List<string> targets, object? item, JinjaScope scope)
    {
        if (targets.Count == 1)
        {
            scope.Set(targets[0], item);
            return scope;
        }

        var parts = Iterate(item).ToList();
        if (parts.Count != targets.Count)
        {
            throw new ChatTemplateException($"cannot unpack {parts.Count} values into {string.Join(", ", targets)}");
        }

        for (var k = 0; k < targets.Count; k++)
        {
            scope.Set(targets[k], parts[k]);
        }

        return scope;
    }

    public static object? Eval(Expr e, JinjaScope scope) => e switch
    {
        Literal l => l.Value,
        Name n => scope.Get(n.Id),
        Attribute a => Member(Eval(a.Target, scope), a.Member),
        Item i => Index(Eval(i.Target, scope), Eval(i.Key, scope)),
        SliceOf s => Slice(Eval(s.Target, scope), s.Start is null ? null : Eval(s.Start, scope), s.Stop is null ? null : Eval(s.Stop, scope), s.Step is null ? null : Eval(s.Step, scope)),
        Call c => Invoke(Eval(c.Target, scope), [.. c.Args.Select(x => Eval(x, scope))], c.Named.ToDictionary(x => x.Name, x => Eval(x.Value, scope))),
        Filter f => JinjaFilters.Apply(f.Name, Eval(f.Value, scope), [.. f.Args.Select(x => Eval(x, scope))], f.Named.ToDictionary(x => x.Name, x => Eval(x.Value, scope))),
        Test t => JinjaFilters.Test(t.Name, Eval(t.Value, scope), [.. t.Args.Select(x => Eval(x, scope))]) != t.Negated,
        Unary { Op: "not" } u => !Truthy(Eval(u.Operand, scope)),
        Unary { Op: "-" } u => Eval(u.Operand, scope) switch
        {
            long l => (object)(-l),
            double d => -d,
            var v => throw new ChatTemplateException($"cannot negate {TypeName(v)}"),
        },
        Unary u => Eval(u.Operand, scope),
        Binary { Op: "and" } b => Either(Eval(b.Left, scope), b.Right, scope, whenTruthy: true),
        Binary { Op: "or" } b => Either(Eval(b.Left, scope), b.Right, scope, whenTruthy: false),
        Binary b => Operate(b.Op, Eval(b.Left, scope), Eval(b.Right, scope)),
        Conditional c => Truthy(Eval(c.Condition, scope)) ? Eval(c.Then, scope) : c.Else is null ? Undefined.Value : Eval(c.Else, scope),
        ListOf l => l.Items.Select(x => Eval(x, scope)).ToList(),
        DictOf d => d.Items.ToDictionary(x => Str(Eval(x.Key, scope)), x => Eval(x.Value, scope)),
        _ => throw new ChatTemplateException($"cannot evaluate {e.GetType().Name}"),
    };

    /// <summary>Python's and/or: the left value when it decides, otherwise the right one (evaluated only then).</summary>
    private static object? Either(object? left, Expr right, JinjaScope scope, bool whenTruthy) =>
        Truthy(left) == whenTruthy ? Eval(right, scope) : left;

    private static object? Invoke(object? target, List<object?> args, Dictionary<string, object?> named) =>
        target is JinjaFunction f ? f(args, named) : throw new ChatTemplateException($"{TypeName(target)} is not callable");

    private static object? Member(object? target, string name) => target switch
    {
        Dictionary<string, object?> d when d.TryGetValue(name, out var v) => v,
        Dictionary<string, object?> d => (object?)JinjaFilters.DictMethod(d, name) ?? Undefined.Value,
        string s => (object?)JinjaFilters.StringMethod(s, name) ?? Undefined.Value,
        List<object?> l => (object?)JinjaFilters.ListMethod(l, name) ?? Undefined.Value,
        Undefined => Undefined.Value,
        null => throw new ChatTemplateException($"None has no attribute '{name}'"),
        _ => Undefined.Value,
    };

    public static object? Index(object? target, object? key) => target switch
    {
        List<object?> l when key is long i => (i < 0 ? l.Count + i : i) is var k && k >= 0 && k < l.Count ? l[(int)k] : Undefined.Value,
        string s when key is long i => (i < 0 ? s.Length + i : i) is var k && k >= 0 && k < s.Length ? s[(int)k].ToString() : Undefined.Value,
        Dictionary<string, object?> d when key is string k => d.TryGetValue(k, out var v) ? v : Undefined.Value,
        Undefined => Undefined.Value,
        null => throw new ChatTemplateException($"None is not subscriptable"),
        _ => Undefined.Value,
    };

    private static object? Slice(object? target, object? start, object? stop, object? step)
    {
        var items = target switch
        {
            string s => s.Select(c => (object?)c.ToString()).ToList(),
            List<object?> l => l,
            _ => throw new ChatTemplateException($"{TypeName(target)} cannot be sliced"),
        };
        var n = items.Count;
        var by = step is null ? 1 : (int)Int(step);
        if (by == 0)
        {
            throw new ChatTemplateException("slice step cannot be zero");
        }

        int Clamp(object? v, int fallback)
        {
            if (v is null)
            {
                return fallback;
            }

            var i = (int)Int(v);
            i = i < 0 ? i + n : i;
            return by > 0 ? Math.Clamp(i, 0, n) : Math.Clamp(i, -1, n - 1);
        }

        var (from, to) = by > 0 ? (Clamp(start, 0), Clamp(stop, n)) : (Clamp(start, n - 1), Clamp(stop, -1));
        var result = new List<object?>();
        for (var i = from; by > 0 ? i < to : i > to; i += by)
        {
            result.Add(items[i]);
        }

        return target is string ? string.Concat(result.Select(x => (string)x!)) : result;
    }

    private static object? Operate(string op, object? a, object? b)
    {
        switch (op)
        {
            case "==":
                return Equal(a, b);
            case "!=":
                return !Equal(a, b);
            case "in":
                return Contains(b, a);
            case "not in":
                return !Contains(b, a);
            case "~":
                return Str(a) + Str(b);
            case "<" or "<=" or ">" or ">=":
                var c = Compare(a, b);
                return op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };
        }

        if (op == "+" && a is string sa && b is string sb)
        {
            return sa + sb;
        }

        if (op == "+" && a is List<object?> la && b is List<object?> lb)
        {
            return la.Concat(lb).ToList();
        }

        if (op == "*" && a is string repeated && b is long times)
        {
            return string.Concat(Enumerable.Repeat(repeated, (int)Math.Max(0, times)));
        }

        if (a is long x && b is long y && op is not "/" and not "**")
        {
            return op switch
            {
                "+" => x + y,
                "-" => x - y,
                "*" => x * y,
                "//" => y == 0 ? throw new ChatTemplateException("division by zero") : (long)Math.Floor((double)x / y),
                "%" => y == 0 ? throw new ChatTemplateException("modulo by zero") : ((x % y) + y) % y,
                _ => throw new ChatTemplateException($"unknown operator {op}"),
            };
        }

        if (a is long or double && b is long or double)
        {
            var (p, q) = (Convert.ToDouble(a, CultureInfo.InvariantCulture), Convert.ToDouble(b, CultureInfo.InvariantCulture));
            return op switch
            {
                "+" => p + q,
                "-" => p - q,
                "*" => p * q,
                "/" => q == 0 ? throw new ChatTemplateException("division by zero") : p / q,
                "//" => Math.Floor(p / q),
                "%" => p - (q * Math.Floor(p / q)),
                "**" => a is long && b is long and >= 0 ? (object)(long)Math.Pow(p, q) : Math.Pow(p, q),
                _ => throw new ChatTemplateException($"unknown operator {op}"),
            };
        }

        throw new ChatTemplateException($"unsupported operand types for {op}: {TypeName(a)} and {TypeName(b)}");
    }

    public static bool Equal(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (Undefined, Undefined) => true,
        (long or double, long or double) => Convert.ToDouble(a, CultureInfo.InvariantCulture) == Convert.ToDouble(b, CultureInfo.InvariantCulture),
        (bool x, bool y) => x == y,
        (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equal(p.First, p.Second)),
        _ => ReferenceEquals(a, b),
    };

    private static int Compare(object? a, object? b) => (a, b) switch
    {
        (long or double, long or double) => Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture)),
        (string x, string y) => string.CompareOrdinal(x, y),
        _ => throw new ChatTemplateException($"cannot compare {TypeName(a)} with {TypeName(b)}"),
    };

    private static bool Contains(object? container, object? item) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw new ChatTemplateException($"'in <string>' needs a string, not {TypeName(item)}"),
        List<object?> l => l.Any(x => Equal(x, item)),
        Dictionary<string, object?> d => item is string k && d.ContainsKey(k),
        Undefined => false,
        _ => throw new ChatTemplateException($"{TypeName(container)} is not a container"),
    };

    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        ICollection c => c.Count > 0,
        _ => true,
    };

    public static IEnumerable<object?> Iterate(object? v) => v switch
    {
        List<object?> l => l,
        Dictionary<string, object?> d => d.Keys,
        string s => s.Select(c => (object?)c.ToString()),
        Undefined or null => [],
        _ => throw new ChatTemplateException($"{TypeName(v)} is not iterable"),
    };

    public static long Int(object? v) => v switch
    {
        long l => l,
        double d => (long)d,
        bool b => b ? 1 : 0,
        string s when long.TryParse(s.Trim(), CultureInfo.InvariantCulture, out var l) => l,
        _ => throw new ChatTemplateException($"{TypeName(v)} is not an integer"),
    };

    /// <summary>A value as Python's str() writes it.</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        Undefined => string.Empty,
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => double.IsInteger(d) && Math.Abs(d) < 1e16 ? d.ToString("0.0", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture),
        List<object?> or Dictionary<string, object?> => JinjaFilters.Repr(v),
        _ => v.ToString() ?? string.Empty,
    };

    public static string TypeName(object? v) => v switch
    {
        null => "None",
        Undefined => "undefined",
        string => "str",
        bool => "bool",
        long => "int",
        double => "float",
        List<object?> => "list",
        Dictionary<string, object?> => "dict",
        JinjaFunction => "function",
        _ => v.GetType().Name,
    };

    private static string StrFTime(DateTime t, string format)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length)
            {
                sb.Append(format[i]);
                continue;
            }

            sb.Append(format[++i] switch
            {
                'd' => t.ToString("dd", CultureInfo.InvariantCulture),
                'm' => t.ToString("MM", CultureInfo.InvariantCulture),
                'Y' => t.ToString("yyyy", CultureInfo.InvariantCulture),
                'y' => t.ToString("yy", CultureInfo.InvariantCulture),
                'b' => t.ToString("MMM", CultureInfo.InvariantCulture),
                'B' => t.ToString("MMMM", CultureInfo.InvariantCulture),
                'a' => t.ToString("ddd", CultureInfo.InvariantCulture),
                'A' => t.ToString("dddd", CultureInfo.InvariantCulture),
                'H' => t.ToString("HH", CultureInfo.InvariantCulture),
                'M' => t.ToString("mm", CultureInfo.InvariantCulture),
                'S' => t.ToString("ss", CultureInfo.InvariantCulture),
                '%' => "%",
                var c => "%" + c,
            });
        }

        return sb.ToString();
    }
}
