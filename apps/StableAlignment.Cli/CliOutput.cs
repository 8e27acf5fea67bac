using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace StableAlignment.Cli;

/// <summary>
/// Where a command's output goes. With <c>--json</c> standard output carries one JSON document and nothing else
/// (pipelines read it), while tables, progress and notes go to standard error. Tables written to a file or a pipe are
/// not wrapped at 80 columns, so ids stay on one line.
/// </summary>
public static class CliOutput
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static bool JsonMode { get; private set; }

    /// <summary>Notes for the operator: standard output, or standard error under <c>--json</c>.</summary>
    public static TextWriter Notes => JsonMode ? Console.Error : Console.Out;

    public static Option<bool> JsonOption() =>
        new("--json") { Description = "Print the result as one JSON document on standard output (tables, progress and notes go to standard error)" };

    /// <summary>Called once at start: a redirected standard output gets tables as wide as their rows.</summary>
    public static void Configure()
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 4096;
        }
    }

    public static void UseJson(bool json)
    {
        if (!json || JsonMode)
        {
            return;
        }

        JsonMode = true;
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    }

    public static void WriteJson<T>(T value, JsonSerializerOptions? options = null) => Console.Out.WriteLine(JsonSerializer.Serialize(value, options ?? Json));
}
