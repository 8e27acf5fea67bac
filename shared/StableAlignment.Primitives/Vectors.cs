using System.Numerics.Tensors;

namespace StableAlignment.Primitives;

public static class Vectors
{
    public static float[] Normalise(float[] v)
    {
        var norm = TensorPrimitives.Norm(v);
        if (norm > 0)
        {
            TensorPrimitives.Divide(v, norm, v);
        }

        return v;
    }

    /// <summary>Cosine distance (1 − cosine similarity) of two vectors.</summary>
    public static double CosineDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        a.Length != b.Length || a.Length == 0 ? 1.0 : 1.0 - TensorPrimitives.CosineSimilarity(a, b);
}
