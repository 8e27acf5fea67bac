using System.ComponentModel.DataAnnotations;

namespace StableAlignment.Gateway.Core;

/// <summary>Bound from the "Gateway" section. There is no default key: a deployment must set <c>Gateway__ApiKey</c>.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Required in the <c>X-Api-Key</c> header of every mutating request.</summary>
    [Required(ErrorMessage = "Gateway:ApiKey is required (set Gateway__ApiKey): it guards every mutating request.")]
    [MinLength(8, ErrorMessage = "Gateway:ApiKey must have at least 8 characters.")]
    public string ApiKey { get; set; } = string.Empty;

    /// <summary>Questions accepted in one POST.</summary>
    [Range(1, 100_000)]
    public int MaxQuestionsPerRequest { get; set; } = 1000;
}
