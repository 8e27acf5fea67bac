using TorchSharp;

namespace StableAlignment.Learning;

/// <summary>
/// Scalars that live as long as the process, so no finalizer can free them while libtorch reads them.
/// TorchSharp 0.107 frees a Scalar only in its finalizer and keeps no reference to it during the native call, so an
/// implicit one (a number passed where a Scalar is expected) can be collected while libtorch reads it ("Unknown scalar
/// type"). Scalars here are either held in a static field or declared with <c>using</c> around the call.
/// </summary>
internal static class HeldScalars
{
    public static readonly Scalar One = 1.ToScalar();
}
