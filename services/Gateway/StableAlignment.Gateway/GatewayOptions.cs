using System.ComponentModel.DataAnnotations;

namespace StableAlignment.Gateway;

/// <summary>Bound from the "Gateway" section. There is no default key: a deployment must set <c>Gateway__ApiKey</c>.</summary>
public sealed class GatewayOptions : IValidatableObject
{
    public const string Section = "Gateway";

    /// <summary>The admin key (<c>X-Api-Key</c>): every method, and the detail of <c>/health</c>.</summary>
    [Required(ErrorMessage = "Gateway:ApiKey is required (set Gateway__ApiKey): it is the admin key.")]
    [MinLength(8, ErrorMessage = "Gateway:ApiKey must have at least 8 characters.")]
    public string ApiKey { get; set; } = string.Empty;

    /// <summary>Read-only keys: GET and HEAD only (a mutating request with one gets 403); empty entries are ignored.</summary>
    public List<string> ReadKeys { get; set; } = [];

    /// <summary>Let GET and HEAD through without a key (off by default: runs and interactions are private data).</summary>
    public bool AnonymousReads { get; set; }

    /// <summary>Questions accepted in one POST.</summary>
    [Range(1, 100_000)]
    public int MaxQuestionsPerRequest { get; set; } = 1000;

    /// <summary>Largest request body; a larger one gets 413.</summary>
    [Range(1024, 1L << 31)]
    public long MaxRequestBodyBytes { get; set; } = 8 << 20;

    /// <summary>Requests per minute for each key (and for each IP address without a valid key).</summary>
    [Range(1, int.MaxValue)]
    public int PermitsPerMinutePerKey { get; set; } = 6000;

    /// <summary>Requests per minute from one IP address whatever the key: a ceiling on any single client.</summary>
    [Range(1, int.MaxValue)]
    public int PermitsPerMinutePerIp { get; set; } = 12000;

    /// <summary>Requests per minute from one IP address without a valid key (failed or missing keys).</summary>
    [Range(1, int.MaxValue)]
    public int AnonymousPermitsPerMinute { get; set; } = 120;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < ReadKeys.Count; i++)
        {
            if (ReadKeys[i].Length == 0)
            {
                continue; // an unset variable (compose's GATEWAY_READ_KEY left empty): no read key
            }

            if (ReadKeys[i].Length < 8)
            {
                yield return new ValidationResult($"Gateway:ReadKeys:{i} must have at least 8 characters.", [nameof(ReadKeys)]);
            }
            else if (ReadKeys[i] == ApiKey)
            {
                yield return new ValidationResult($"Gateway:ReadKeys:{i} is the admin key; a read key must differ from it.", [nameof(ReadKeys)]);
            }
        }
    }
}
