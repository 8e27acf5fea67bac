using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace StableAlignment.Learning;

/// <summary>Root-mean-square layer norm with a learned scale.</summary>
public sealed class RmsNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;

    public RmsNorm(int size, double eps) : base("RmsNorm")
    {
        weight = Parameter(ones(size));
        _eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // TorchSharp 0.107 frees a Scalar only by its finalizer, and an implicit one (`t + 1e-6`, or the alpha of 1 that
        // `add` makes) is unreachable while the native call still reads it: a collection in that window hands libtorch
        // freed memory ("Unknown scalar type"). Here, the hottest scalar site, both stay referenced until the end.
        using var eps = _eps.ToScalar();
        var xf = x.to(ScalarType.Float32);
        // As Hugging Face's: normalise in fp32, cast back, then scale, so bf16 runs round the same way.
        var normed = xf * rsqrt(xf.square().mean([-1], keepdim: true).add(eps, HeldScalars.One));
        return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
