using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace StableAlignment.Models;

/// <summary>A Semantic Kernel chat service bound to a role, with the role's generation settings.</summary>
public sealed class ChatModel(IChatCompletionService service, string modelId, PromptExecutionSettings settings)
{
    public string ModelId { get; } = modelId;

    public IChatCompletionService Service { get; } = service;

    /// <summary>Sends one user prompt and returns the reply text (empty string when the model returned none).</summary>
    public async Task<string> CompleteAsync(string prompt, CancellationToken cancellationToken = default)
    {
        var history = new ChatHistory();
        history.AddUserMessage(prompt);
        var reply = await Service.GetChatMessageContentAsync(history, settings, kernel: null, cancellationToken);
        return reply.Content ?? string.Empty;
    }
}
