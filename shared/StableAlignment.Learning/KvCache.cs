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

    /// <summary>
    /// Appends <paramref name="other"/>'s rows after these, left-padding the shorter of the two with zeros to the longer
    /// one's length (the padded positions are masked by the batch). <paramref name="other"/> is left as it was.
    /// </summary>
    public void Merge(KvCache other)
    {
        for (var i = 0; i < _layers.Length; i++)
        {
            _layers[i].Merge(other._layers[i]);
        }
    }

    /// <summary>Drops the first <paramref name="positions"/> positions of every row (padding no row needs any more).</summary>
    public void DropFront(long positions)
    {
        foreach (var l in _layers)
        {
            l.DropFront(positions);
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
