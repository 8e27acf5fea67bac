using Microsoft.Extensions.AI;
using StableAlignment.Primitives;

namespace StableAlignment.Models;

/// <summary>The local embedding generator: hashed words and word pairs, unit length, behind Semantic Kernel's embedding interface.</summary>
public sealed class HashingEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const int Dimensions = 512;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(v =>
        {
            var vector = new float[Dimensions];
            foreach (var (k, x) in HashingFeatures.Of(v, Dimensions))
            {
                vector[k] = x;
            }

            return new Embedding<float>(Vectors.Normalise(vector));
        })));

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
