using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenAI;

namespace StableAlignment.Models;

/// <summary>
/// Builds Semantic Kernel OpenAI-compatible services per role from <see cref="ModelsOptions"/>; every call goes
/// through the HTTP resilience pipeline and the per-endpoint <see cref="EndpointThrottle"/>.
/// </summary>
public sealed class ConfiguredModelCatalog(
    IOptions<ModelsOptions> options,
    IHttpClientFactory httpClients,
    EndpointThrottle throttle,
    ILoggerFactory loggerFactory,
    IEnumerable<ILocalModelProvider> localProviders) : IModelCatalog
{
    public const string HttpClientName = "models";

    /// <summary>One HTTP client per role, each with a resilience pipeline per endpoint: a failing endpoint or role opens only its own circuit.</summary>
    public static string ClientName(ModelRole role) => $"{HttpClientName}-{role}";

    private readonly ConcurrentDictionary<string, object> _cache = new();

    public ChatModel Chat(ModelRole role) => (ChatModel)_cache.GetOrAdd($"chat/{role}", _ =>
        IsLocal(options.Value.For(role)) ? Local().Chat(role, options.Value.For(role)) : CreateChat(Resolve(role), role));

    private static bool IsLocal(ModelEndpointOptions o) => string.Equals(o.Provider, "Local", StringComparison.OrdinalIgnoreCase);

    private ILocalModelProvider Local() =>
        localProviders.FirstOrDefault() ?? throw new InvalidOperationException("Provider Local is configured but no local model provider is registered.");

    public IReadOnlyList<(ChatModel Model, double Share)> SocialAgents() =>
        ((IReadOnlyList<(ChatModel, double)>)_cache.GetOrAdd("society", _ =>
        {
            var entries = options.Value.SocialAgents;
            if (entries.Count == 0)
            {
                return new List<(ChatModel, double)> { (Chat(ModelRole.SocialAgent), 1.0) };
            }

            return entries.Select(e => e.Share > 0
                ? (SocietyMember(new ModelEndpointOptions { Endpoint = e.Endpoint, Model = e.Model, ApiKey = e.ApiKey }), e.Share)
                : throw new InvalidOperationException($"Models:SocialAgents: the share of '{e.Model}' must be positive.")).ToList();
        })).ToList();

    public IReadOnlyList<(ChatModel Model, double Share)> SocialAgents(IReadOnlyList<StableAlignment.Contracts.SocialAgentChoice>? choices)
    {
        if (choices is not { Count: > 0 })
        {
            return SocialAgents();
        }

        return [.. choices.Select(c => c.Share > 0 && !string.IsNullOrWhiteSpace(c.Model)
            ? ((ChatModel)_cache.GetOrAdd($"society-model:{c.Model}", _ => SocietyMember(Named(c.Model))), c.Share)
            : throw new InvalidOperationException($"SocialAgentModels: '{c.Model}' needs a name and a positive share."))];
    }

    /// <summary>A model chosen by name: at its own endpoint when <c>Models:SocialAgents</c> lists it, otherwise on the SocialAgent role's.</summary>
    private ModelEndpointOptions Named(string model) =>
        options.Value.SocialAgents.FirstOrDefault(e => string.Equals(e.Model, model, StringComparison.Ordinal)) is { } listed
            ? new ModelEndpointOptions { Endpoint = listed.Endpoint, Model = listed.Model, ApiKey = listed.ApiKey }
            : new ModelEndpointOptions { Model = model };

    /// <summary>One model of a society: its own fields over the SocialAgent role's (endpoint, key, temperature, max tokens).</summary>
    private ChatModel SocietyMember(ModelEndpointOptions own) =>
        CreateChat(Check(own.Over(options.Value.For(ModelRole.SocialAgent)), ModelRole.SocialAgent), ModelRole.SocialAgent);

    public EmbeddingModel Embedding() => (EmbeddingModel)_cache.GetOrAdd("embedding", _ =>
    {
        if (IsLocal(options.Value.For(ModelRole.Embedding)))
        {
            return Local().Embedding(options.Value.For(ModelRole.Embedding));
        }

        var o = Resolve(ModelRole.Embedding);
        var generator = new FallbackEmbeddingGenerator(
            Client(o, ModelRole.Embedding).GetEmbeddingClient(o.Model!).AsIEmbeddingGenerator(), o.Endpoint!, loggerFactory.CreateLogger<ConfiguredModelCatalog>());
        return new EmbeddingModel(generator, o.Model!, (call, ct) => throttle.RunAsync(o.Endpoint!, call, ct));
    });

    /// <summary>
    /// The OpenAI client over our HTTP pipeline. Its own retries are off: the pipeline already retries (with
    /// jitter, a circuit breaker and a per-attempt timeout), and two layers would multiply the attempts.
    /// </summary>
    private OpenAIClient Client(ModelEndpointOptions o, ModelRole role) => new(
        new ApiKeyCredential(string.IsNullOrEmpty(o.ApiKey) ? "none" : o.ApiKey),
        new OpenAIClientOptions
        {
            Endpoint = new Uri(o.Endpoint!),
            Transport = new HttpClientPipelineTransport(httpClients.CreateClient(ClientName(role))),
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        });

    private ModelEndpointOptions Resolve(ModelRole role) => Check(options.Value.For(role), role);

    private ModelEndpointOptions Check(ModelEndpointOptions o, ModelRole role)
    {
        if (string.IsNullOrWhiteSpace(o.Endpoint) || string.IsNullOrWhiteSpace(o.Model) || !Uri.TryCreate(o.Endpoint, UriKind.Absolute, out _))
        {
            throw new InvalidOperationException(options.Value.Problem(role) ?? $"The {role} role needs an absolute endpoint URL and a model.");
        }

        if (!string.Equals(o.Provider, "OpenAI", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Unknown model provider '{o.Provider}' for the {role} role (supported: OpenAI).");
        }

        return o;
    }

    private ChatModel CreateChat(ModelEndpointOptions o, ModelRole role)
    {
        var service = new OpenAIChatCompletionService(o.Model!, Client(o, role), loggerFactory);
        var settings = new OpenAIPromptExecutionSettings { Temperature = o.Temperature, MaxTokens = o.MaxTokens, ModelId = o.Model };
        return new ChatModel(service, o.Model!, settings, (call, ct) => throttle.RunAsync(o.Endpoint!, call, ct));
    }
}
