using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;

namespace StableAlignment.Hosting;

/// <summary>Bound from the "Internal" section: the key the gateway adds to every call it forwards to a backend service.</summary>
public sealed class InternalOptions
{
    public const string Section = "Internal";

    public const string Header = "X-Internal-Key";

    [Required(ErrorMessage = "Internal:Key is required (set Internal__Key to the same secret on the gateway and every service): backends accept only calls that carry it.")]
    [MinLength(16, ErrorMessage = "Internal:Key must have at least 16 characters.")]
    public string Key { get; set; } = string.Empty;

    public static bool Matches(string given, string expected) =>
        given.Length > 0 && expected.Length > 0
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
