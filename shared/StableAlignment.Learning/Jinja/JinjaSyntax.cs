namespace StableAlignment.Learning.Jinja;

/// <summary>An expression of the template language.</summary>
internal abstract record Expr;

internal sealed record Literal(object? Value) : Expr;

internal sealed record Name(string Id) : Expr;

internal sealed record Attribute(Expr Target, string Member) : Expr;

internal sealed record Item(Expr Target, Expr Key) : Expr;

internal sealed record SliceOf(Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr;

internal sealed record Call(Expr Target, List<Expr> Args, List<(string Name, Expr Value)> Named) : Expr;

internal sealed record Filter(Expr Value, string Name, List<Expr> Args, List<(string Name, Expr Value)> Named) : Expr;

internal sealed record Test(Expr Value, string Name, List<Expr> Args, bool Negated) : Expr;

internal sealed record Unary(string Op, Expr Operand) : Expr;

internal sealed record Binary(string Op, Expr Left, Expr Right) : Expr;

internal sealed record Conditional(Expr Condition, Expr Then, Expr? Else) : Expr;

internal sealed record ListOf(List<Expr> Items) : Expr;

internal sealed record DictOf(List<(Expr Key, Expr Value)> Items) : Expr;

/// <summary>A piece of a parsed template.</summary>
internal abstract record Node;

internal sealed record TextNode(string Text) : Node;

internal sealed record OutputNode(Expr Value) : Node;

internal sealed record IfNode(List<(Expr Condition, List<Node> Body)> Branches, List<Node>? Else) : Node;

internal sealed record ForNode(List<string> Targets, Expr Items, Expr? Condition, List<Node> Body, List<Node>? Else) : Node;

/// <summary><c>{% set x = … %}</c>, or <c>{% set ns.x = … %}</c> on a namespace (<see cref="Attribute"/> is null for a plain name).</summary>
internal sealed record SetNode(string Target, string? Member, Expr Value) : Node;

internal sealed record MacroNode(string Name, List<(string Name, Expr? Default)> Parameters, List<Node> Body) : Node;

/// <summary>Reads the tokens of one expression (precedence as in Jinja: or, and, not, comparisons, ~, + -, * / // %, **, unary, filters and postfix).</summary>
internal sealed class ExprParser(List<string> tokens, string source)
{
    private int _at;

    public bool Done => _at >= tokens.Count;

    public string? Peek(int ahead = 0) => _at + ahead < tokens.Count ? tokens[_at + ahead] : null;

    public string Next() => _at < tokens.Count ? tokens[_at++] : throw Error("the expression ends too early");

    public bool Accept(string token)
    {
        if (Peek() == token)
        {
            _at++;
            return true;
        }

        return false;
    }

    public void Expect(string token)
    {
        if (!Accept(token))
        {
            throw Error($"expected '{token}' but found '{Peek() ?? "the end"}'");
        }
    }

    public ChatTemplateException Error(string why) => new($"{why} in '{source}'");

    public string Identifier()
    {
        var t = Next();
        return t.Length > 0 && (char.IsLetter(t[0]) || t[0] == '_') ? t : throw Error($"expected a name but found '{t}'");
    }

    public void End()
    {
        if (!Done)
        {
            throw Error($"unexpected '{Peek()}'");
        }
    }

    public Expr Expression()
    {
        var value = Or();
        if (Peek() == "if")
        {
            _at++;
            var condition = Or();
            Expr? otherwise = Accept("else") ? Expression() : null;
            return new Conditional(condition, value, otherwise);
        }

        return value;
    }

    /// <summary>An expression without a trailing <c>if</c> (a for loop's iterable, whose <c>if</c> filters the items).</summary>
    public Expr Or()
    {
        var left = And();
        while (Accept("or"))
        {
            left = new Binary("or", left, And());
        }

        return left;
    }

    private Expr And()
    {
        var left = Not();
        while (Accept("and"))
        {
            left = new Binary("and", left, Not());
        }

        return left;
    }

    private Expr Not() => Accept("not") ? new Unary("not", Not()) : Compare();

    private Expr Compare()
    {
        var left = Concat();
        while (true)
        {
            var op = Peek();
            if (op is "==" or "!=" or "<" or "<=" or ">" or ">=" or "in")
            {
                _at++;
                left = new Binary(op, left, Concat());
            }
            else if (op == "not" && Peek(1) == "in")
            {
                _at += 2;
                left = new Binary("not in", left, Concat());
            }
            else if (op == "is")
            {
                _at++;
                var negated = Accept("not");
                var name = Identifier();
                var args = new List<Expr>();
                if (Accept("("))
                {
                    args = Arguments().Args;
                }
                else if (Peek() is { } arg && (JinjaLexer.IsString(arg) || char.IsAsciiDigit(arg[0])))
                {
                    args.Add(Primary());
                }

                left = new Test(left, name, args, negated);
            }
            else
            {
                return left;
            }
        }
    }

    private Expr Concat()
    {
        var left = Additive();
        while (Accept("~"))
        {
            left = new Binary("~", left, Additive());
        }

        return left;
    }

    private Expr Additive()
    {
        var left = Multiplicative();
        while (Peek() is "+" or "-")
        {
            left = new Binary(Next(), left, Multiplicative());
        }

        return left;
    }

    private Expr Multiplicative()
    {
        var left = Power();
        while (Peek() is "*" or "/" or "//" or "%")
        {
            left = new Binary(Next(), left, Power());
        }

        return left;
    }

    private Expr Power()
    {
        var left = UnaryMinus();
        while (Accept("**"))
        {
            left = new Binary("**", left, UnaryMinus());
        }

        return left;
    }

    private Expr UnaryMinus()
    {
        if (Peek() is "-" or "+")
        {
            return new Unary(Next(), UnaryMinus());
        }

        var value = Postfix(Primary());
        while (Accept("|"))
        {
            var name = Identifier();
            var (args, named) = Accept("(") ? Arguments() : ([], []);
            value = Postfix(new Filter(value, name, args, named));
        }

        return value;
    }

    private Expr Postfix(Expr value)
    {
        while (true)
        {
            if (Accept("."))
            {
                value = new Attribute(value, Identifier());
            }
            else if (Accept("["))
            {
                value = Subscript(value);
            }
            else if (Accept("("))
            {
                var (args, named) = Arguments();
                value = new Call(value, args, named);
            }
            else
            {
                return value;
            }
        }
    }

    private Expr Subscript(Expr target)
    {
        Expr? start = Peek() is ":" ? null : Expression();
        if (!Accept(":"))
        {
            Expect("]");
            return new Item(target, start!);
        }

        Expr? stop = Peek() is ":" or "]" ? null : Expression();
        Expr? step = Accept(":") && Peek() != "]" ? Expression() : null;
        Expect("]");
        return new SliceOf(target, start, stop, step);
    }

    /// <summary>Call arguments after the opening parenthesis, through the closing one.</summary>
    private (List<Expr> Args, List<(string Name, Expr Value)> Named) Arguments()
    {
        var args = new List<Expr>();
        var named = new List<(string, Expr)>();
        Sequence(")", () =>
        {
            if (Peek(1) == "=" && Peek() is { } n && char.IsLetter(n[0]))
            {
                _at += 2;
                named.Add((n, Expression()));
            }
            else
            {
                args.Add(Expression());
            }
        });

        return (args, named);
    }

    /// <summary>Comma-separated items through <paramref name="close"/> (a trailing comma allowed), each read by <paramref name="item"/>.</summary>
    public void Sequence(string close, Action item)
    {
        while (!Accept(close))
        {
            item();
            if (!Accept(","))
            {
                Expect(close);
                return;
            }
        }
    }

    private Expr Primary()
    {
        var t = Next();
        if (JinjaLexer.IsString(t))
        {
            var text = t[1..];
            while (Peek() is { } more && JinjaLexer.IsString(more))
            {
                text += Next()[1..]; // adjacent strings join, as in Python
            }

            return new Literal(text);
        }

        if (char.IsAsciiDigit(t[0]))
        {
            return t.Contains('.')
                ? new Literal(double.Parse(t, System.Globalization.CultureInfo.InvariantCulture))
                : new Literal(long.Parse(t, System.Globalization.CultureInfo.InvariantCulture));
        }

        switch (t)
        {
            case "true" or "True":
                return new Literal(true);
            case "false" or "False":
                return new Literal(false);
            case "none" or "None":
                return new Literal(null);
            case "(":
                var inner = Expression();
                if (Accept(","))
                {
                    var items = new List<Expr> { inner };
                    Sequence(")", () => items.Add(Expression()));

                    return new ListOf(items);
                }

                Expect(")");
                return inner;
            case "[":
                var list = new List<Expr>();
                Sequence("]", () => list.Add(Expression()));

                return new ListOf(list);
            case "{":
                var pairs = new List<(Expr, Expr)>();
                Sequence("}", () =>
                {
                    var key = Expression();
                    Expect(":");
                    pairs.Add((key, Expression()));
                });

                return new DictOf(pairs);
        }

        return char.IsLetter(t[0]) || t[0] == '_' ? new Name(t) : throw Error($"unexpected '{t}'");
    }
}
