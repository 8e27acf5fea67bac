using System.Security.Cryptography;
using System.Text;

namespace StableAlignment.Storage;

/// <summary>Name-based ids: the same key always gives the same Guid, which makes redelivery idempotent.</summary>
public static class DeterministicGuid
{
    public static Guid Create(string key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        var bytes = hash[..16];
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x50); // version 5 style marker
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes);
    }
}
