using System.CommandLine;
using System.CommandLine.Parsing;

namespace StableAlignment.Cli;

/// <summary>
/// The options several commands share (the model overrides, the gateway and its key, --verbose) and the helpers every
/// command's definition uses: one instance per <c>sa</c> invocation, handed to each command's <c>Create</c>.
/// </summary>
public sealed class CliOptions
{
    public Option<string?> Endpoint { get; } = new("--endpoint") { Description = "OpenAI-compatible base URL for every model role (the embedding role too), e.g. http://localhost:11434/v1" };

    public Option<string?> Model { get; } = new("--model") { Description = "Model name for every model role; for tokenize, logits and loss: the model folder, a checkpoint, tiny or small" };

    public Option<string?> ModelApiKey { get; } = new("--model-api-key") { Description = "API key of the model endpoint" };

    public Option<Uri> Gateway { get; } = new("--gateway") { Description = "Gateway base URL", DefaultValueFactory = _ => new Uri("http://localhost:8080/"), CustomParser = ParseUrl, Recursive = true };

    public Option<string?> GatewayKey { get; } = new("--api-key") { Description = "Gateway API key (default: $SA_API_KEY)", Recursive = true };

    public Option<bool> Verbose { get; } = new("--verbose") { Description = "On an error, print the exception with its stack trace", Recursive = true };

    public Option<FileInfo?> Config { get; } = new("--config") { Description = "YAML file of this command's options (name: value); options on the command line win. The resolved options are saved as config.resolved.yaml beside the output", Recursive = true };

    /// <summary>The model overrides a command was given.</summary>
    public ModelOverrides Models(ParseResult p) => new(p.GetValue(Endpoint), p.GetValue(Model), p.GetValue(ModelApiKey));

    /// <summary>A client of the gateway a command was pointed at.</summary>
    public GatewayClient GatewayClient(ParseResult p) => new(p.GetValue(Gateway)!, p.GetValue(GatewayKey) ?? Environment.GetEnvironmentVariable("SA_API_KEY"));

    /// <summary>Adds --endpoint, --model and --model-api-key to a command that calls models.</summary>
    public Command WithModels(Command command)
    {
        command.Options.Add(Endpoint);
        command.Options.Add(Model);
        command.Options.Add(ModelApiKey);
        return command;
    }

    /// <summary>System.CommandLine has no parser for Uri: an absolute http(s) URL or a clear parse error.</summary>
    public static Uri? ParseUrl(ArgumentResult r)
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : string.Empty;
        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
        {
            return url;
        }

        r.AddError($"--gateway: '{text}' is not an http(s) URL (e.g. http://localhost:8080/).");
        return null;
    }

    /// <summary>
    /// Whether an option was given: on the command line or in --config, with a value other than its default. A
    /// config.resolved.yaml lists every option, so a repeated run counts only what differs from the defaults as given.
    /// </summary>
    public static bool Given(CommandResult r, Option o)
    {
        if (r.GetResult(o) is not { Implicit: false } given)
        {
            return false;
        }

        var value = given.GetValueOrDefault<object?>();
        var @default = o.HasDefaultValue ? o.GetDefaultValue() : o.ValueType.IsValueType && Nullable.GetUnderlyingType(o.ValueType) is null ? Activator.CreateInstance(o.ValueType) : null;
        return value is FileSystemInfo f && @default is FileSystemInfo d ? f.FullName != d.FullName : !Equals(value, @default);
    }

    /// <summary>Options that make others meaningless refuse them (exit 2 naming both).</summary>
    public static void Excludes(Command command, Option lead, string why, params Option[] others) => command.Validators.Add(r =>
    {
        if (Given(r, lead))
        {
            foreach (var other in others.Where(o => Given(r, o)))
            {
                r.AddError($"{other.Name} cannot be combined with {lead.Name}: {why}.");
            }
        }
    });

    /// <summary>An example in the command's --help.</summary>
    public static Command Example(Command command, string example)
    {
        command.Description += $"\n\nExample:\n  {example}";
        return command;
    }
}
