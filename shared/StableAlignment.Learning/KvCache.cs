using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>The key/value cache of a whole model, one slot per layer.</summary>
public sealed class KvCache(int layers) : IDisposable
{
    private readonly LayerCache[] _layers = [.. Enumerable.Range(0, layers).Select(_ => new LayerCache())];

    public LayerCache this[int layer] => _layers[layer];

    public long Length => _layers[0].Length;

    /// <summary>Keeps only the given rows of the batch in every layer.</summary>
    public void Keep(Tensor rows)
    {
        foreach (var l in _layers)
        {
            l.Keep(rows);
        }
    }

    public void Dispose()
    {
        foreach (var l in _layers)
        {
            l.Dispose();
        }
    }
}
