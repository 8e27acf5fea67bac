using System.Text;
using System.Text.RegularExpressions;

namespace StableAlignment.Learning.Jinja;

/// <summary>A piece of a template: literal text, an expression to print (<c>{{ … }}</c>) or a statement (<c>{% … %}</c>).</summary>
internal sealed record Piece(PieceKind Kind, string Text, int Position);

internal enum PieceKind
{
    Text,
    Output,
    Statement,
}

/// <summary>
/// Splits a template into pieces the way transformers' Jinja environment reads chat templates: <c>trim_blocks</c> (the
/// newline after a block tag goes) and <c>lstrip_blocks</c> (spaces and tabs before a block tag on its line go), a
/// final newline dropped, and the <c>-</c> markers that strip the whitespace before (<c>{%-</c>) or after
/// (<c>-%}</c>) a tag.
/// </summary>
internal static partial class JinjaSource
{
    [GeneratedRegex(@"^[ \t]*(\{[#%-])", RegexOptions.Multiline)]
    private static partial Regex LeadingBlankBeforeBlock();

    [GeneratedRegex(@"([#%-]\})\n")]
    private static partial Regex NewlineAfterBlock();

    public static List<Piece> Split(string template)
    {
        if (template.EndsWith('\n'))
        {
            template = template[..^1];
        }

        template = LeadingBlankBeforeBlock().Replace(template, "$1");
        template = NewlineAfterBlock().Replace(template, "$1");
        var pieces = new List<Piece>();
        var pos = 0;
        var stripNext = false;
        while (pos < template.Length)
        {
            var open = NextTag(template, pos);
            var text = template[pos..(open < 0 ? template.Length : open)];
            if (stripNext)
            {
                text = text.TrimStart();
            }

            stripNext = false;
            if (open < 0)
            {
                Add(pieces, text, pos);
                break;
            }

            var kind = template[open + 1];
            var stripBefore = open + 2 < template.Length && template[open + 2] == '-';
            if (stripBefore)
            {
                text = text.TrimEnd();
            }

            Add(pieces, text, pos);
            var bodyStart = open + (stripBefore ? 3 : 2);
            if (kind == '#')
            {
                var endComment = template.IndexOf("#}", bodyStart, StringComparison.Ordinal);
                if (endComment < 0)
                {
                    throw new ChatTemplateException($"a comment opened at character {open} is never closed");
                }

                stripNext = template[endComment - 1] == '-';
                pos = endComment + 2;
                continue;
            }

            var close = kind == '{' ? "}}" : "%}";
            var end = CloseOf(template, bodyStart, close, open);
            var bodyEnd = end;
            if (template[end - 1] == '-' && end - 1 >= bodyStart)
            {
                stripNext = true;
                bodyEnd = end - 1;
            }

            pieces.Add(new Piece(kind == '{' ? PieceKind.Output : PieceKind.Statement, template[bodyStart..bodyEnd].Trim(), open));
            pos = end + 2;
        }

        return pieces;
    }

    private static void Add(List<Piece> pieces, string text, int position)
    {
        if (text.Length > 0)
        {
            pieces.Add(new Piece(PieceKind.Text, text, position));
        }
    }

    private static int NextTag(string s, int from)
    {
        for (var i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
        {
            if (s[i + 1] is '{' or '%' or '#')
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Where the tag's closing <paramref name="close"/> is, skipping quoted strings (which may hold "}}").</summary>
    private static int CloseOf(string s, int from, string close, int open)
    {
        char? quote = null;
        for (var i = from; i < s.Length - 1; i++)
        {
            var c = s[i];
            if (quote is { } q)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == q)
                {
                    quote = null;
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == close[0] && s[i + 1] == close[1])
            {
                return i;
            }
        }

        throw new ChatTemplateException($"the tag opened at character {open} is never closed with {close}");
    }
}

/// <summary>A template that cannot be read, or one that refuses the conversation (its <c>raise_exception</c>).</summary>
public sealed class ChatTemplateException(string message) : Exception(message);

/// <summary>Turns text into the tokens of one expression or statement.</summary>
internal static class JinjaLexer
{
    public static List<string> Tokens(string source)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < source.Length)
        {
            var c = source[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '\'' or '"')
            {
                var sb = new StringBuilder("\"");
                i++;
                while (i < source.Length && source[i] != c)
                {
                    if (source[i] == '\\' && i + 1 < source.Length)
                    {
                        i++;
                        sb.Append(source[i] switch
                        {
                            'n' => '\n', 't' => '\t', 'r' => '\r', 'b' => '\b', 'f' => '\f', '0' => '\0',
                            _ => source[i],
                        });
                    }
                    else
                    {
                        sb.Append(source[i]);
                    }

                    i++;
                }

                if (i >= source.Length)
                {
                    throw new ChatTemplateException($"a string is never closed in '{source}'");
                }

                i++;
                tokens.Add(sb.ToString()); // a string token starts with '"' and holds the unescaped text after it
            }
            else if (char.IsAsciiDigit(c))
            {
                var start = i;
                while (i < source.Length && (char.IsAsciiDigit(source[i]) || (source[i] == '.' && i + 1 < source.Length && char.IsAsciiDigit(source[i + 1]))))
                {
                    i++;
                }

                tokens.Add(source[start..i]);
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < source.Length && (char.IsLetterOrDigit(source[i]) || source[i] == '_'))
                {
                    i++;
                }

                tokens.Add(source[start..i]);
            }
            else
            {
                var two = i + 1 < source.Length ? source.Substring(i, 2) : null;
                if (two is "==" or "!=" or "<=" or ">=" or "//" or "**")
                {
                    tokens.Add(two);
                    i += 2;
                }
                else if ("+-*/%~<>()[]{}.,:|=".Contains(c))
                {
                    tokens.Add(c.ToString());
                    i++;
                }
                else
                {
                    throw new ChatTemplateException($"unexpected character '{c}' in '{source}'");
                }
            }
        }

        return tokens;
    }

    public static bool IsString(string token) => token.Length > 0 && token[0] == '"';
}
