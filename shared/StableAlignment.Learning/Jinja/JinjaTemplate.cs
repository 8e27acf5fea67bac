using System.Text;

namespace StableAlignment.Learning.Jinja;

/// <summary>
/// The part of Jinja that chat templates use, read and rendered as transformers' <c>apply_chat_template</c> does
/// (trim_blocks, lstrip_blocks): text, <c>{{ … }}</c>, <c>if</c>/<c>elif</c>/<c>else</c>, <c>for</c> (with
/// <c>loop.index</c>, <c>index0</c>, <c>first</c>, <c>last</c>, <c>length</c>, an <c>if</c> filter and <c>else</c>),
/// <c>set</c> (names and namespace attributes), <c>macro</c>, comments, the operators, tests, filters and string, list
/// and dict methods those templates call, and <c>raise_exception</c>, <c>namespace</c>, <c>range</c> and
/// <c>strftime_now</c>. Anything else is refused when the template is read, naming it.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly List<Node> _body;

    private JinjaTemplate(List<Node> body) => _body = body;

    public static JinjaTemplate Parse(string source)
    {
        var pieces = JinjaSource.Split(source);
        var at = 0;
        var body = Block(pieces, ref at, [], out var end);
        return end is null ? new JinjaTemplate(body) : throw new ChatTemplateException($"'{{% {end} %}}' has no block to end");
    }

    /// <summary>The text the template makes of <paramref name="variables"/> (messages, add_generation_prompt, bos_token, …).</summary>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        var scope = new JinjaScope(null);
        JinjaRuntime.AddGlobals(scope);
        foreach (var (name, value) in variables)
        {
            scope.Set(name, JinjaRuntime.FromClr(value));
        }

        var output = new StringBuilder();
        JinjaRuntime.Run(_body, scope, output);
        return output.ToString();
    }

    /// <summary>Nodes until a statement whose first word is in <paramref name="ends"/> (returned in <paramref name="end"/>, or null at the end of the template).</summary>
    private static List<Node> Block(List<Piece> pieces, ref int at, string[] ends, out string? end)
    {
        var nodes = new List<Node>();
        while (at < pieces.Count)
        {
            var piece = pieces[at++];
            switch (piece.Kind)
            {
                case PieceKind.Text:
                    nodes.Add(new TextNode(piece.Text));
                    continue;
                case PieceKind.Output:
                    var p = new ExprParser(JinjaLexer.Tokens(piece.Text), piece.Text);
                    var value = p.Expression();
                    p.End();
                    nodes.Add(new OutputNode(value));
                    continue;
            }

            var parser = new ExprParser(JinjaLexer.Tokens(piece.Text), piece.Text);
            var word = parser.Done ? string.Empty : parser.Next();
            if (ends.Contains(word))
            {
                end = word;
                at--;
                return nodes;
            }

            nodes.Add(word switch
            {
                "if" => If(pieces, ref at, parser),
                "for" => For(pieces, ref at, parser),
                "set" => Set(parser),
                "macro" => Macro(pieces, ref at, parser),
                "generation" or "endgeneration" => new TextNode(string.Empty),
                _ => throw parser.Error($"the statement '{word}' is not supported"),
            });
        }

        end = null;
        return nodes;
    }

    /// <summary>The statement at <paramref name="at"/>, which ends a block: its parser after the first word.</summary>
    private static ExprParser Closing(List<Piece> pieces, ref int at, out string word)
    {
        var piece = pieces[at++];
        var parser = new ExprParser(JinjaLexer.Tokens(piece.Text), piece.Text);
        word = parser.Next();
        return parser;
    }

    private static IfNode If(List<Piece> pieces, ref int at, ExprParser parser)
    {
        var branches = new List<(Expr, List<Node>)>();
        var condition = parser.Expression();
        parser.End();
        while (true)
        {
            var body = Block(pieces, ref at, ["elif", "else", "endif"], out var end);
            branches.Add((condition, body));
            if (end is null)
            {
                throw new ChatTemplateException("an if block is never closed with endif");
            }

            var closing = Closing(pieces, ref at, out var word);
            if (word == "elif")
            {
                condition = closing.Expression();
                closing.End();
                continue;
            }

            if (word == "else")
            {
                var otherwise = Block(pieces, ref at, ["endif"], out var last);
                if (last is null)
                {
                    throw new ChatTemplateException("an if block is never closed with endif");
                }

                Closing(pieces, ref at, out _);
                return new IfNode(branches, otherwise);
            }

            return new IfNode(branches, null);
        }
    }

    private static ForNode For(List<Piece> pieces, ref int at, ExprParser parser)
    {
        var targets = new List<string> { parser.Identifier() };
        while (parser.Accept(","))
        {
            targets.Add(parser.Identifier());
        }

        parser.Expect("in");
        var items = parser.Or();
        var condition = parser.Accept("if") ? parser.Expression() : null;
        parser.End();
        var body = Block(pieces, ref at, ["else", "endfor"], out var end);
        List<Node>? otherwise = null;
        if (end == "else")
        {
            Closing(pieces, ref at, out _);
            otherwise = Block(pieces, ref at, ["endfor"], out end);
        }

        if (end is null)
        {
            throw new ChatTemplateException("a for loop is never closed with endfor");
        }

        Closing(pieces, ref at, out _);
        return new ForNode(targets, items, condition, body, otherwise);
    }

    private static SetNode Set(ExprParser parser)
    {
        var target = parser.Identifier();
        string? member = parser.Accept(".") ? parser.Identifier() : null;
        parser.Expect("=");
        var value = parser.Expression();
        parser.End();
        return new SetNode(target, member, value);
    }

    private static MacroNode Macro(List<Piece> pieces, ref int at, ExprParser parser)
    {
        var name = parser.Identifier();
        var parameters = new List<(string, Expr?)>();
        parser.Expect("(");
        parser.Sequence(")", () =>
        {
            var p = parser.Identifier();
            parameters.Add((p, parser.Accept("=") ? parser.Expression() : null));
        });

        var body = Block(pieces, ref at, ["endmacro"], out var end);
        if (end is null)
        {
            throw new ChatTemplateException($"the macro {name} is never closed with endmacro");
        }

        Closing(pieces, ref at, out _);
        return new MacroNode(name, parameters, body);
    }
}
