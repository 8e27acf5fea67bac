using System.Text;

namespace StableAlignment.Evaluator;

/// <summary>
/// RFC 4180 CSV: fields separated by commas, optionally quoted; inside quotes commas and line breaks are data and
/// <c>""</c> is a quote. Each row comes with the line it starts on, for error messages.
/// </summary>
public static class Csv
{
    // Longer than most on purpose: a character-level state machine (in quotes or not) is clearest as one loop.
    public static IEnumerable<(int Line, string[] Fields)> Rows(TextReader reader)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var (line, start, quoted, any) = (1, 1, false, false);
        int c;
        while ((c = reader.Read()) >= 0)
        {
            any = true;
            var ch = (char)c;
            if (quoted)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        field.Append('"');
                        reader.Read();
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    line += ch == '\n' ? 1 : 0;
                    field.Append(ch);
                }

                continue;
            }

            switch (ch)
            {
                case '"' when field.Length == 0:
                    quoted = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    yield return (start, fields.ToArray());
                    fields.Clear();
                    (line, start, any) = (line + 1, line + 1, false);
                    break;
                default:
                    field.Append(ch);
                    break;
            }
        }

        if (any)
        {
            fields.Add(field.ToString());
            yield return (start, fields.ToArray());
        }
    }
}
