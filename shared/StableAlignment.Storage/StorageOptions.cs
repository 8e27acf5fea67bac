using System.ComponentModel.DataAnnotations;

namespace StableAlignment.Storage;

public enum StorageProvider
{
    Embedded,
    MongoDb,
}

/// <summary>Bound from the "Storage" section (compose: <c>Storage__Provider</c>, <c>Storage__ConnectionString</c>…).</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.Embedded;

    /// <summary>MongoDB connection string, e.g. <c>mongodb://mongo:27017</c> (MongoDb provider).</summary>
    public string? ConnectionString { get; set; }

    [Required]
    public string Database { get; set; } = "stable-alignment";

    /// <summary>File of the embedded store (Embedded provider).</summary>
    [Required]
    public string EmbeddedPath { get; set; } = "artifacts/store/stable-alignment.db";
}
