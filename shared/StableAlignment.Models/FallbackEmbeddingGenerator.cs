using System.ClientModel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace StableAlignment.Models;

/// <summary>
/// The configured embedding endpoint, until it shows that it serves no embeddings (404, 405 or 501, or a 400 that says
/// so — a chat-only vLLM or llama.cpp server): from then on, and for that call, the local hashing embedder answers,
/// with one warning. Other failures (5xx, timeouts) are failures, not a reason to switch. Once switched, every vector
/// of the process comes from the local embedder, so a run's memories stay comparable.
/// </summary>
public sealed class FallbackEmbeddingGenerator(
    IEmbeddingGenerator<string, Embedding<float>> remote,
    string endpoint,
    ILogger logger) : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly HashingEmbeddingGenerator _local = new();
    private volatile bool _fallen;

    public bool UsingLocal => _fallen;

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (!_fallen)
        {
            try
            {
                return await remote.GenerateAsync(values, options, cancellationToken);
            }
            catch (Exception e) when (ServesNoEmbeddings(e))
            {
                if (!_fallen)
                {
                    _fallen = true;
                    logger.LogWarning(
                        "The embedding endpoint {Endpoint} serves no embeddings ({Reason}); memory recall uses the local hashing embedder from now on. Set Models:Roles:Embedding to an embedding endpoint to change that.",
                        endpoint, e.Message);
                }
            }
        }

        return await _local.GenerateAsync(values, options, cancellationToken);
    }

    public static bool ServesNoEmbeddings(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is ClientResultException { Status: 404 or 405 or 501 })
            {
                return true;
            }

            if (x is ClientResultException { Status: 400 } bad && bad.Message.Contains("embedding", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => remote.GetService(serviceType, serviceKey);

    public void Dispose() => remote.Dispose();
}
