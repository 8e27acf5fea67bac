namespace StableAlignment.Models;

/// <summary>Where services get the model for a role. Tests replace it with deterministic fakes.</summary>
public interface IModelCatalog
{
    ChatModel Chat(ModelRole role);

    /// <summary>The models of a (possibly heterogeneous) society with their shares; at least one.</summary>
    IReadOnlyList<(ChatModel Model, double Share)> SocialAgents();

    EmbeddingModel Embedding();
}
