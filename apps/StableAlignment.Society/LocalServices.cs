using System.Runtime.CompilerServices;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace StableAlignment.Society;

/// <summary>Base for in-process chat services: one user prompt in, one reply out.</summary>
public abstract class LocalChatService : IChatCompletionService
{
    public IReadOnlyDictionary<string, object?> Attributes { get; } = new Dictionary<string, object?>();

    protected abstract string Reply(string prompt, PromptExecutionSettings? settings);

    public Task<IReadOnlyList<ChatMessageContent>> GetChatMessageContentsAsync(
        ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<ChatMessageContent>>([new ChatMessageContent(AuthorRole.Assistant, Reply(chatHistory[^1].Content ?? string.Empty, executionSettings))]);

    public async IAsyncEnumerable<StreamingChatMessageContent> GetStreamingChatMessageContentsAsync(
        ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        yield return new StreamingChatMessageContent(AuthorRole.Assistant, Reply(chatHistory[^1].Content ?? string.Empty, executionSettings));
    }
}

/// <summary>The observer: rates the answer found in the prompt and replies in the <c>Rating: n ### Reason: …</c> form.</summary>
public sealed class LocalObserverService(LocalRater rater) : LocalChatService
{
    protected override string Reply(string prompt, PromptExecutionSettings? settings)
    {
        var answer = AnswerIn(prompt);
        var rating = rater.Rate(answer);
        return $"Rating: {rating} ### Reason: {LocalRater.ReasonFor(rating)}";
    }

    /// <summary>The text after the last "Answer:" (or "answer:") up to the next blank line.</summary>
    public static string AnswerIn(string prompt)
    {
        var at = prompt.LastIndexOf("nswer:", StringComparison.Ordinal);
        if (at < 0)
        {
            return prompt;
        }

        var rest = prompt[(at + 6)..];
        var end = rest.IndexOf("\n\n", StringComparison.Ordinal);
        return (end < 0 ? rest : rest[..end]).Trim();
    }
}

/// <summary>
/// A social agent played by a local checkpoint: the prompt is sampled from at the role's temperature. The sampling seed
/// is a hash of the prompt, not a call counter, so the reply does not depend on the order in which concurrent
/// interactions reach the model: the same run gives the same society every time.
/// </summary>
public sealed class LocalAgentService(LlamaForCausalLM model, ITokenizer tokenizer, int maxNewTokens) : LocalChatService
{
    private readonly Lock _gate = new();

    protected override string Reply(string prompt, PromptExecutionSettings? settings)
    {
        var temperature = settings?.ExtensionData?.TryGetValue("temperature", out var t) == true ? Convert.ToDouble(t, System.Globalization.CultureInfo.InvariantCulture) : 1.0;
        lock (_gate)
        {
            var options = new GenerationOptions(Temperature: temperature, TopP: 0.95, MaxNewTokens: maxNewTokens, Seed: StableSeed(prompt));
            return Generation.Generate(model, tokenizer, prompt, options).Text.Trim();
        }
    }

    private static int StableSeed(string prompt) => World.StableHash(prompt) & int.MaxValue;
}
