using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using StableAlignment.Models;

namespace StableAlignment.Testing;

/// <summary>
/// A deterministic model behind Semantic Kernel's chat interface that answers at once: for measuring the
/// pipeline's own overhead. Rating prompts get a well-formed rating, other prompts a fixed answer.
/// </summary>
public sealed class InstantModelCatalog : IModelCatalog
{
    private readonly ChatModel _model = new(new InstantChat(), "instant", new PromptExecutionSettings());

    private readonly EmbeddingModel _embedding = new(new InstantEmbeddings(), "instant-embedding");

    public ChatModel Chat(ModelRole role) => _model;

    public IReadOnlyList<(ChatModel Model, double Share)> SocialAgents() => [(_model, 1.0)];

    public EmbeddingModel Embedding() => _embedding;

    private sealed class InstantEmbeddings : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(v => new Embedding<float>(StubModelServer.Embed(v)))));

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class InstantChat : IChatCompletionService
    {
        public IReadOnlyDictionary<string, object?> Attributes { get; } = new Dictionary<string, object?>();

        private static string Reply(ChatHistory history) =>
            history[^1].Content?.Contains("Rating:", StringComparison.Ordinal) == true
                ? "Rating: 5 ### Reason: measured reply"
                : "A considerate answer.";

        public Task<IReadOnlyList<ChatMessageContent>> GetChatMessageContentsAsync(
            ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<ChatMessageContent>>([new ChatMessageContent(AuthorRole.Assistant, Reply(chatHistory))]);

        public async IAsyncEnumerable<StreamingChatMessageContent> GetStreamingChatMessageContentsAsync(
            ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            yield return new StreamingChatMessageContent(AuthorRole.Assistant, Reply(chatHistory));
        }
    }
}
