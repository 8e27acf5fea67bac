using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>The settings of the loss (DESIGN 1.5); the paper's defaults.</summary>
public sealed record LossOptions
{
    /// <summary>M: the margin at the full rating gap.</summary>
    public double Margin { get; init; } = 10;

    /// <summary>λ: weight of the contrastive part.</summary>
    public double Ratio { get; init; } = 0.2;

    /// <summary>R: the rating scale.</summary>
    public double RatingScale { get; init; } = 7;

    /// <summary>Hinge on the largest term instead of the mean.</summary>
    public bool MaxFlow { get; init; }

    /// <summary>The SFT baseline: the best response's NLL alone.</summary>
    public bool SftOnly { get; init; }

    /// <summary>Responses per query in one step (num_comp).</summary>
    public int Comparisons { get; init; } = 3;
}

public sealed record LossParts(Tensor Loss, Tensor Sft, Tensor Diff);

/// <summary>
/// L = ℓ_b + λ·max(0, mean_k≠b(ℓ_b − ℓ_k + (r_b − r_k)/R·M)), where ℓ_k is the length-normalised NLL of response k and
/// b the best-rated response (the first of equals). Each margin uses the rating of its own response — the original
/// code indexed ratings by position after shuffling, which permuted the margins.
/// </summary>
public static class StableAlignmentLoss
{
    public static int Best(IReadOnlyList<int> ratings)
    {
        var best = 0;
        for (var k = 1; k < ratings.Count; k++)
        {
            if (ratings[k] > ratings[best])
            {
                best = k;
            }
        }

        return best;
    }

    /// <param name="nll">Length-normalised NLL per response, shape (K).</param>
    public static LossParts Compute(Tensor nll, IReadOnlyList<int> ratings, LossOptions o)
    {
        if (nll.shape[0] != ratings.Count || ratings.Count == 0)
        {
            throw new ArgumentException($"{nll.shape[0]} NLL values for {ratings.Count} ratings.");
        }

        var b = Best(ratings);
        var sft = nll[b];
        if (ratings.Count == 1 || o.SftOnly)
        {
            return new LossParts(sft, sft, zeros_like(sft));
        }

        var others = Enumerable.Range(0, ratings.Count).Where(k => k != b).ToArray();
        var margins = tensor(others.Select(k => (ratings[b] - ratings[k]) / o.RatingScale * o.Margin).ToArray(), dtype: nll.dtype, device: nll.device);
        var d = sft - nll.index_select(0, tensor(others.Select(k => (long)k).ToArray(), device: nll.device)) + margins;
        var diff = nn.functional.relu(o.MaxFlow ? d.max() : d.mean());
        return new LossParts(sft + (o.Ratio * diff), sft, diff);
    }
}
