using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>Keys and values of one layer for the positions seen so far.</summary>
public sealed class LayerCache : IDisposable
{
    private Tensor? _k;
    private Tensor? _v;

    public long Length => _k?.shape[2] ?? 0;

    public (Tensor K, Tensor V) Append(Tensor k, Tensor v)
    {
        var newK = _k is null ? k.detach() : cat([_k, k.detach()], 2);
        var newV = _v is null ? v.detach() : cat([_v, v.detach()], 2);
        _k?.Dispose();
        _v?.Dispose();
        _k = newK.DetachFromDisposeScope();
        _v = newV.DetachFromDisposeScope();
        return (_k, _v);
    }

    /// <summary>Keeps only the given rows of the batch (finished sequences leave it).</summary>
    public void Keep(Tensor rows)
    {
        if (_k is null || _v is null)
        {
            return;
        }

        var (k, v) = (_k.index_select(0, rows).DetachFromDisposeScope(), _v.index_select(0, rows).DetachFromDisposeScope());
        _k.Dispose();
        _v.Dispose();
        (_k, _v) = (k, v);
    }

    public void Dispose()
    {
        _k?.Dispose();
        _v?.Dispose();
    }
}
