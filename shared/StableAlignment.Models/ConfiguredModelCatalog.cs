using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel.Connectors.OpenAI;

namespace StableAlignment.Models;

/// <summary>Builds one Semantic Kernel OpenAI-compatible chat service per role from <see cref="ModelsOptions"/>.</summary>
public sealed class ConfiguredModelCatalog(
    IOptions<ModelsOptions> options,
    IHttpClientFactory httpClients,
    ILoggerFactory loggerFactory) : IModelCatalog
{
    public const string HttpClientName = "models";

    private readonly ConcurrentDictionary<ModelRole, ChatModel> _models = new();

    public ChatModel Chat(ModelRole role) => _models.GetOrAdd(role, Create);

    private ChatModel Create(ModelRole role)
    {
        if (options.Value.Problem(role) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        var o = options.Value.For(role);
        if (!string.Equals(o.Provider, "OpenAI", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Unknown model provider '{o.Provider}' for the {role} role (supported: OpenAI).");
        }

        var service = new OpenAIChatCompletionService(
            o.Model!,
            new Uri(o.Endpoint!),
            string.IsNullOrEmpty(o.ApiKey) ? "none" : o.ApiKey,
            organization: null,
            httpClient: httpClients.CreateClient(HttpClientName),
            loggerFactory: loggerFactory);
        var settings = new OpenAIPromptExecutionSettings { Temperature = o.Temperature, MaxTokens = o.MaxTokens, ModelId = o.Model };
        return new ChatModel(service, o.Model!, settings);
    }
}
