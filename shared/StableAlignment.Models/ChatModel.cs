using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using StableAlignment.Contracts;

namespace StableAlignment.Models;

/// <summary>A Semantic Kernel chat service bound to a role, with the role's generation settings.</summary>
public sealed class ChatModel(IChatCompletionService service, string modelId, PromptExecutionSettings settings, Func<Func<Task<ModelReply>>, CancellationToken, Task<ModelReply>>? gate = null)
{
    public string ModelId { get; } = modelId;

    public IChatCompletionService Service { get; } = service;

    /// <summary>Sends one user prompt; returns the reply text (empty when the model returned none) and its token counts.</summary>
    public Task<ModelReply> ReplyAsync(string prompt, CancellationToken cancellationToken = default) => ReplyAsync(prompt, null, cancellationToken);

    /// <summary>Sends one user prompt after a system message (none when <paramref name="system"/> is null or empty).</summary>
    public Task<ModelReply> ReplyAsync(string prompt, string? system, CancellationToken cancellationToken = default) =>
        gate is null ? CallAsync(prompt, system, cancellationToken) : gate(() => CallAsync(prompt, system, cancellationToken), cancellationToken);

    public async Task<string> CompleteAsync(string prompt, CancellationToken cancellationToken = default) =>
        (await ReplyAsync(prompt, cancellationToken)).Text;

    private async Task<ModelReply> CallAsync(string prompt, string? system, CancellationToken cancellationToken)
    {
        var history = new ChatHistory();
        if (!string.IsNullOrEmpty(system))
        {
            history.AddSystemMessage(system);
        }

        history.AddUserMessage(prompt);
        ChatMessageContent reply;
        try
        {
            reply = await Service.GetChatMessageContentAsync(history, settings, kernel: null, cancellationToken);
        }
        catch (Exception e) when (e is not ModelCallException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw new ModelCallException(ModelId, e);
        }

        var (input, output) = TokenCounts(reply.Metadata);
        return new ModelReply(reply.Content ?? string.Empty, ModelId, input, output);
    }

    private static (int Input, int Output) TokenCounts(IReadOnlyDictionary<string, object?>? metadata) =>
        metadata?.TryGetValue("Usage", out var usage) == true && usage is OpenAI.Chat.ChatTokenUsage u
            ? (u.InputTokenCount, u.OutputTokenCount)
            : (0, 0);
}
