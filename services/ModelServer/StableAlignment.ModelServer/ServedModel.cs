using StableAlignment.Data;
using StableAlignment.Learning;

namespace StableAlignment.ModelServer;

/// <summary>How chat messages become the prompt the model reads.</summary>
public enum ChatTemplate
{
    /// <summary>
    /// The template the checkpoint was trained with (its <c>state.json</c>); for a folder without one (a Hugging Face
    /// model, an export), the folder's own Jinja <c>chat_template</c>; Alpaca when it has neither.
    /// </summary>
    Recorded,

    /// <summary>The folder's Jinja <c>chat_template</c> (tokenizer_config.json or chat_template.jinja), refused when it has none.</summary>
    Jinja,

    /// <summary>The short Alpaca form: <c>### Instruction:\n…\n\n### Response:</c>.</summary>
    Alpaca,

    /// <summary>The conversation text as it is, for models trained on whole task prompts.</summary>
    Raw,
}

/// <summary>
/// A model as the server offers it: a training folder (its latest checkpoint), a checkpoint folder, or a Hugging Face
/// model folder, with its tokenizer and the prompt template chat messages are put into.
/// </summary>
public sealed class ServedModel : IDisposable
{
    private readonly FolderChatTemplate? _jinja;

    private ServedModel(string id, string path, LlamaForCausalLM model, ITokenizer tokenizer, string? template, FolderChatTemplate? jinja = null)
    {
        Id = id;
        Path = path;
        Model = model;
        Tokenizer = tokenizer;
        Template = template;
        _jinja = jinja;
    }

    /// <summary>The Jinja chat template prompts are rendered with, when one is used ("the folder's chat_template").</summary>
    public string? JinjaSource => _jinja?.Source;

    /// <summary>The name clients send as <c>model</c>.</summary>
    public string Id { get; }

    public string Path { get; }

    public LlamaForCausalLM Model { get; }

    public ITokenizer Tokenizer { get; }

    /// <summary>A prompt with one <c>{question}</c> slot, or null when the conversation goes in as it is.</summary>
    public string? Template { get; }

    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;

    /// <summary>A model already in memory (tests, the loop); <paramref name="template"/> null: the conversation as it is.</summary>
    public static ServedModel From(string id, LlamaForCausalLM model, ITokenizer tokenizer, string? template) => new(id, string.Empty, model, tokenizer, template);

    public static ServedModel Load(string path, string? id = null, ChatTemplate template = ChatTemplate.Recorded, int threads = 0)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"{path}: no such folder (expected a training folder, a checkpoint or a Hugging Face model folder).");
        }

        var checkpoint = Checkpoints.Latest(full);
        var model = Checkpoints.LoadModel(full, threads);
        var tokenizer = Checkpoints.TokenizerFor(full);
        try
        {
            Checkpoints.CheckTokenizerFits(tokenizer, model.Config, full);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        var recorded = checkpoint is null ? null : Checkpoints.ReadState(checkpoint).Options.PromptTemplate;
        var folderTemplate = template is ChatTemplate.Jinja || (template is ChatTemplate.Recorded && recorded is null) ? FolderChatTemplate.Read(full) : null;
        if (template is ChatTemplate.Jinja && folderTemplate is null)
        {
            model.Dispose();
            throw new InvalidDataException($"{path}: --template Jinja, but the folder has no chat_template (tokenizer_config.json or chat_template.jinja).");
        }

        if (folderTemplate is not null)
        {
            return new ServedModel(id ?? DefaultId(full, checkpoint), full, model, tokenizer, null, folderTemplate);
        }

        var chosen = template switch
        {
            ChatTemplate.Raw => null,
            ChatTemplate.Alpaca => AlpacaTemplate,
            // A recorded template with slots besides the question (memory, answer, …) is a whole task prompt: the model
            // learned to continue such prompts, which the society sends filled in, so the conversation goes in as it is.
            _ => recorded is null ? AlpacaTemplate : OnlyQuestionSlot(recorded) ? recorded : null,
        };
        return new ServedModel(id ?? DefaultId(full, checkpoint), full, model, tokenizer, chosen);
    }

    public static readonly string AlpacaTemplate = AlpacaPrompt.Query("{question}", string.Empty);

    /// <summary>
    /// The prompt for a conversation. With the folder's Jinja chat template, what it renders (with the generation
    /// prompt). Otherwise a single user message (after an optional system message) is the question; earlier
    /// turns come first as <c>User:</c>/<c>Assistant:</c> lines.
    /// </summary>
    public string ChatPrompt(IReadOnlyList<(string Role, string Content)> messages)
    {
        if (_jinja is not null)
        {
            return _jinja.Render(messages, Tokenizer);
        }

        var system = string.Join("\n\n", messages.Where(m => m.Role is "system" or "developer").Select(m => m.Content));
        var turns = messages.Where(m => m.Role is not ("system" or "developer")).ToList();
        var lastUser = turns.FindLastIndex(m => m.Role == "user");
        var history = string.Join("\n", turns.Take(Math.Max(0, lastUser)).Select(m => $"{(m.Role == "assistant" ? "Assistant" : "User")}: {m.Content}"));
        var question = string.Join("\n\n", new[] { system, history, lastUser >= 0 ? turns[lastUser].Content : string.Empty }.Where(s => s.Length > 0));
        return Template is null ? question : Template.Replace("{question}", question, StringComparison.Ordinal);
    }

    public void Dispose() => Model.Dispose();

    private static bool OnlyQuestionSlot(string template) =>
        System.Text.RegularExpressions.Regex.Matches(template, @"\{[a-z_]+\}").Select(m => m.Value).Distinct().SequenceEqual(["{question}"]);

    private static string DefaultId(string full, string? checkpoint)
    {
        var name = System.IO.Path.GetFileName(full.TrimEnd('/'));
        // No '/' in the id: clients put it in a URL path (GET /v1/models/{id}).
        return checkpoint is null || checkpoint == full ? name : $"{name}-{System.IO.Path.GetFileName(checkpoint)}";
    }
}
