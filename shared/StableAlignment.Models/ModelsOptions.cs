using StableAlignment.Primitives;
namespace StableAlignment.Models;

/// <summary>One model endpoint. Empty fields of a role fall back to <see cref="ModelsOptions.Default"/>.</summary>
public sealed class ModelEndpointOptions
{
    /// <summary>"OpenAI" (any OpenAI-compatible server: OpenAI, vLLM, llama.cpp, Ollama's /v1) or "Local" (the models trained by this project, in process).</summary>
    public string? Provider { get; set; }

    /// <summary>Base URL including the API version path, e.g. <c>http://localhost:11434/v1</c>.</summary>
    public string? Endpoint { get; set; }

    public string? Model { get; set; }

    public string? ApiKey { get; set; }

    public double? Temperature { get; set; }

    public int? MaxTokens { get; set; }

    internal ModelEndpointOptions Over(ModelEndpointOptions fallback) => new()
    {
        Provider = Provider ?? fallback.Provider ?? "OpenAI",
        Endpoint = string.IsNullOrWhiteSpace(Endpoint) ? fallback.Endpoint : Endpoint,
        Model = string.IsNullOrWhiteSpace(Model) ? fallback.Model : Model,
        ApiKey = ApiKey ?? fallback.ApiKey,
        Temperature = Temperature ?? fallback.Temperature,
        MaxTokens = MaxTokens ?? fallback.MaxTokens,
    };
}

/// <summary>Bound from the "Models" section: <c>Models:Default</c> plus per-role overrides in <c>Models:Roles</c>.</summary>
public sealed class ModelsOptions
{
    public const string Section = "Models";

    public ModelEndpointOptions Default { get; set; } = new();

    public Dictionary<ModelRole, ModelEndpointOptions> Roles { get; set; } = [];

    /// <summary>Per-call timeout for a model request, in seconds.</summary>
    public double TimeoutSeconds { get; set; } = 60;

    /// <summary>Model calls in flight per endpoint at most.</summary>
    public int MaxConcurrentCalls { get; set; } = 64;

    /// <summary>
    /// A heterogeneous society: models for social agents with their shares (e.g. three models, a third each).
    /// Empty: every agent uses the SocialAgent role's model.
    /// </summary>
    public List<SocialAgentModel> SocialAgents { get; set; } = [];

    /// <summary>Optional prices by model name, for cost per run.</summary>
    public Dictionary<string, ModelPrice> Prices { get; set; } = [];

    public ModelEndpointOptions For(ModelRole role)
    {
        var resolved = (Roles.TryGetValue(role, out var r) ? r : new ModelEndpointOptions()).Over(Default);
        // Social agents and observers sample at 1.0, as every call of the original does; the judge grades greedily.
        resolved.Temperature ??= role is ModelRole.SocialAgent or ModelRole.Observer ? 1.0 : 0.0;
        resolved.MaxTokens ??= 256;
        return resolved;
    }

    /// <summary>
    /// Null when the judge is another model than the observer; otherwise why judging with it would measure the
    /// observer's agreement with itself. The judge and the observer are the same when they resolve to the same
    /// provider, endpoint and model (the usual case when only <c>Models:Default</c> is set).
    /// </summary>
    public string? SelfJudge()
    {
        var (judge, observer) = (For(ModelRole.Judge), For(ModelRole.Observer));
        static string Key(ModelEndpointOptions o) =>
            $"{o.Provider?.ToLowerInvariant()}|{o.Endpoint?.TrimEnd('/').ToLowerInvariant()}|{o.Model}";
        return Key(judge) != Key(observer) ? null
            : $"the judge ({judge.Model} at {judge.Endpoint ?? judge.Provider}) is the observer that rated the data, so its scores would measure "
                + "agreement with itself: configure Models:Roles:Judge with another model";
    }

    /// <summary>Null when the role has an endpoint and a model; otherwise what is missing, as one line.</summary>
    public string? Problem(ModelRole role)
    {
        var o = For(role);
        if (string.Equals(o.Provider, "Local", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(o.Endpoint) || string.IsNullOrWhiteSpace(o.Model))
        {
            return $"No model endpoint configured for the {role} role: pass --endpoint URL --model NAME, or set "
                + "Models__Default__Endpoint (e.g. http://localhost:11434/v1) and Models__Default__Model.";
        }

        return Uri.TryCreate(o.Endpoint, UriKind.Absolute, out _)
            ? null
            : $"Models endpoint '{o.Endpoint}' for the {role} role is not an absolute URL.";
    }
}

/// <summary>One model of a heterogeneous society; unset endpoint fields come from the SocialAgent role.</summary>
public sealed class SocialAgentModel
{
    public string? Endpoint { get; set; }

    public string? Model { get; set; }

    public string? ApiKey { get; set; }

    /// <summary>Relative share of the agents that use this model.</summary>
    public double Share { get; set; } = 1;
}
