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

    /// <summary>Appends the other cache's rows, left-padding the shorter of the two along the positions with zeros.</summary>
    public void Merge(LayerCache other)
    {
        if (other._k is null || other._v is null)
        {
            return;
        }

        if (_k is null || _v is null)
        {
            (_k, _v) = (other._k.clone().DetachFromDisposeScope(), other._v.clone().DetachFromDisposeScope());
            return;
        }

        var length = Math.Max(Length, other.Length);
        var (k, v) = (cat([PadFront(_k, length), PadFront(other._k, length)], 0).DetachFromDisposeScope(), cat([PadFront(_v, length), PadFront(other._v, length)], 0).DetachFromDisposeScope());
        _k.Dispose();
        _v.Dispose();
        (_k, _v) = (k, v);
    }

    /// <summary>Drops the first positions of every row.</summary>
    public void DropFront(long positions)
    {
        if (_k is null || _v is null || positions <= 0)
        {
            return;
        }

        var (k, v) = (_k.narrow(2, positions, Length - positions).contiguous().DetachFromDisposeScope(), _v.narrow(2, positions, Length - positions).contiguous().DetachFromDisposeScope());
        _k.Dispose();
        _v.Dispose();
        (_k, _v) = (k, v);
    }

    private static Tensor PadFront(Tensor t, long length) =>
        t.shape[2] == length ? t : cat([zeros([t.shape[0], t.shape[1], length - t.shape[2], t.shape[3]], t.dtype, t.device), t], 2);

    public void Dispose()
    {
        _k?.Dispose();
        _v?.Dispose();
    }
}
