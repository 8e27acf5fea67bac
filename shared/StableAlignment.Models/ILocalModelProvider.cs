namespace StableAlignment.Models;

/// <summary>In-process models behind the same Semantic Kernel interfaces as remote ones (provider "Local").</summary>
public interface ILocalModelProvider
{
    ChatModel Chat(ModelRole role, ModelEndpointOptions options);

    EmbeddingModel Embedding(ModelEndpointOptions options);
}
