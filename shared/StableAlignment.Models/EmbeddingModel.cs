using Microsoft.Extensions.AI;
using StableAlignment.Contracts;
using StableAlignment.Primitives;

namespace StableAlignment.Models;

/// <summary>The embedding role: Semantic Kernel's embedding generator interface, unit-normalised vectors out.</summary>
public sealed class EmbeddingModel(IEmbeddingGenerator<string, Embedding<float>> generator, string modelId, Func<Func<Task<float[]>>, CancellationToken, Task<float[]>>? gate = null)
{
    public string ModelId { get; } = modelId;

    public Task<float[]> EmbedAsync(string text, CancellationToken cancellationToken = default) =>
        gate is null ? CallAsync(text, cancellationToken) : gate(() => CallAsync(text, cancellationToken), cancellationToken);

    private async Task<float[]> CallAsync(string text, CancellationToken cancellationToken)
    {
        GeneratedEmbeddings<Embedding<float>> embeddings;
        try
        {
            embeddings = await generator.GenerateAsync([text], cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is not ModelCallException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw new ModelCallException(ModelId, e);
        }

        return Vectors.Normalise(embeddings[0].Vector.ToArray());
    }
}
