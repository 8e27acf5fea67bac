namespace StableAlignment.Models;

/// <summary>Where services get the model for a role. Tests replace it with deterministic fakes.</summary>
public interface IModelCatalog
{
    ChatModel Chat(ModelRole role);
}
