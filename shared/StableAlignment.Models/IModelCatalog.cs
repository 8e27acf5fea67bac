namespace StableAlignment.Models;

/// <summary>Where services get the model for a role. Tests replace it with deterministic fakes.</summary>
public interface IModelCatalog
{
    ChatModel Chat(ModelRole role);

    /// <summary>The models of a (possibly heterogeneous) society with their shares; at least one.</summary>
    IReadOnlyList<(ChatModel Model, double Share)> SocialAgents();

    /// <summary>A run's own society, by model name on the SocialAgent role's endpoint; the configured society when none are named.</summary>
    IReadOnlyList<(ChatModel Model, double Share)> SocialAgents(IReadOnlyList<StableAlignment.Contracts.SocialAgentChoice>? choices) =>
        choices is { Count: > 0 } ? throw new NotSupportedException("This model catalog cannot choose a run's society by name.") : SocialAgents();

    EmbeddingModel Embedding();
}
