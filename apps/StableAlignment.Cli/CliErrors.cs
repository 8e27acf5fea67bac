using Spectre.Console;
using Spectre.Console.Rendering;

namespace StableAlignment.Cli;

/// <summary>How an error reaches the operator: one line, the innermost useful message, no stack trace (that is <c>--verbose</c>).</summary>
public static class CliErrors
{
    public static string OneLine(Exception e)
    {
        var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : e;
        inner = inner is System.Reflection.TargetInvocationException { InnerException: { } t } ? t : inner;
        var message = string.Join(" ", inner.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var known = inner is IOException or InvalidDataException or FormatException or ArgumentException or NotSupportedException or UnauthorizedAccessException
            or System.Text.Json.JsonException or HttpRequestException or InvalidOperationException or LiteDB.LiteException;
        return known ? $"error: {message}" : $"error: {inner.GetType().Name}: {message} (--verbose shows where)";
    }

    /// <summary>Bad input ends in one line naming what is wrong, exit code 2.</summary>
    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or FormatException
            or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }
}

/// <summary>Table rows of plain text: user data (questions, paths, tokens such as "[red]") is never read as Spectre markup.</summary>
public static class PlainTable
{
    public static Table AddTextRow(this Table table, params string[] cells) =>
        table.AddRow([.. cells.Select(c => (IRenderable)new Text(c ?? string.Empty))]);
}
