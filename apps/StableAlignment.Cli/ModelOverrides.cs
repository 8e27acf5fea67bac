using StableAlignment.Models;

namespace StableAlignment.Cli;

/// <summary><c>--endpoint</c>, <c>--model</c> and <c>--model-api-key</c>: override every role at once.</summary>
public sealed record ModelOverrides(string? Endpoint, string? Model, string? ApiKey)
{
    public IEnumerable<KeyValuePair<string, string?>> AsConfiguration()
    {
        var prefixes = Enum.GetNames<ModelRole>().Select(r => $"Models:Roles:{r}").Prepend("Models:Default");
        foreach (var prefix in prefixes)
        {
            if (Endpoint is not null)
            {
                yield return new($"{prefix}:Endpoint", Endpoint);
            }

            if (Model is not null)
            {
                yield return new($"{prefix}:Model", Model);
            }

            if (ApiKey is not null)
            {
                yield return new($"{prefix}:ApiKey", ApiKey);
            }
        }
    }
}
