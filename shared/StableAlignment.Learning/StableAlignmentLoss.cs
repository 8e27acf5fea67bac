using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>The training objectives: Stable Alignment and the baselines it is compared with on the same data.</summary>
public enum LossKind
{
    /// <summary>ℓ_b + λ·max(0, mean_k(ℓ_b − ℓ_k + (r_b − r_k)/R·M)): the margin grows with the rating gap.</summary>
    StableAlignment,

    /// <summary>The best-rated response's NLL alone.</summary>
    Sft,

    /// <summary>The ablation without rating modulation: ℓ_b + λ·max(0, mean over worse-rated k of (ℓ_b − ℓ_k + M)).</summary>
    FixedMargin,

    /// <summary>Direct preference optimisation against a frozen copy of the starting model, on every pair of distinct ratings.</summary>
    Dpo,
}

/// <summary>The loss names used on the command line and in <c>TrainModel</c>.</summary>
public static class LossKinds
{
    private static readonly Dictionary<string, LossKind> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["stable-alignment"] = LossKind.StableAlignment, ["sft"] = LossKind.Sft, ["fixed-margin"] = LossKind.FixedMargin, ["dpo"] = LossKind.Dpo,
    };

    public static string All => string.Join(", ", Names.Keys);

    public static bool TryParse(string? name, out LossKind kind) => Names.TryGetValue(name ?? string.Empty, out kind);

    public static string Name(LossKind kind) => Names.First(n => n.Value == kind).Key;
}

/// <summary>The settings of the loss; the paper's defaults.</summary>
public sealed record LossOptions
{
    public LossKind Kind { get; init; } = LossKind.StableAlignment;

    /// <summary>DPO's β: how far the policy may move from the reference.</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>M: the margin at the full rating gap.</summary>
    public double Margin { get; init; } = 10;

    /// <summary>λ: weight of the contrastive part.</summary>
    public double Ratio { get; init; } = 0.2;

    /// <summary>R: the rating scale.</summary>
    public double RatingScale { get; init; } = 7;

    /// <summary>Hinge on the largest term instead of the mean.</summary>
    public bool MaxFlow { get; init; }

    /// <summary>The SFT baseline: the best response's NLL alone.</summary>
    public bool SftOnly => Kind == LossKind.Sft;

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
        if (o.Kind == LossKind.Dpo)
        {
            throw new ArgumentException("DPO needs log-probabilities under the policy and the reference: use DpoLoss.");
        }

        if (ratings.Count == 1 || o.SftOnly)
        {
            return new LossParts(sft, sft, zeros_like(sft));
        }

        var others = Enumerable.Range(0, ratings.Count).Where(k => k != b && (o.Kind != LossKind.FixedMargin || ratings[k] < ratings[b])).ToArray();
        if (others.Length == 0)
        {
            return new LossParts(sft, sft, zeros_like(sft));
        }

        var margins = tensor(others.Select(k => o.Kind == LossKind.FixedMargin ? o.Margin : (ratings[b] - ratings[k]) / o.RatingScale * o.Margin).ToArray(), dtype: nll.dtype, device: nll.device);
        var d = sft - nll.index_select(0, tensor(others.Select(k => (long)k).ToArray(), device: nll.device)) + margins;
        var diff = nn.functional.relu(o.MaxFlow ? d.max() : d.mean());
        return new LossParts(sft + (o.Ratio * diff), sft, diff);
    }
}

/// <summary>
/// DPO (Rafailov et al., 2023) on a group: for every ordered pair of responses with ratings r_w &gt; r_l,
/// −log σ(β·[(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))]) with summed token log-probabilities,
/// averaged over the pairs. A group without two distinct ratings contributes nothing.
/// </summary>
public static class DpoLoss
{
    /// <param name="policy">Summed log-probability of each response under the model being trained, shape (K).</param>
    /// <param name="reference">The same under the frozen starting model, shape (K).</param>
    /// <param name="meanNll">Length-normalised NLL per response, reported as the SFT part (the best response's).</param>
    public static LossParts Compute(Tensor policy, Tensor reference, Tensor meanNll, IReadOnlyList<int> ratings, double beta)
    {
        var pairs = (from w in Enumerable.Range(0, ratings.Count) from l in Enumerable.Range(0, ratings.Count) where ratings[w] > ratings[l] select (w, l)).ToList();
        var sft = meanNll[StableAlignmentLoss.Best(ratings)];
        if (pairs.Count == 0)
        {
            var nothing = (policy.sum() * 0).to(sft.dtype);
            return new LossParts(nothing, sft, nothing);
        }

        var wins = tensor(pairs.Select(p => (long)p.w).ToArray(), device: policy.device);
        var losses = tensor(pairs.Select(p => (long)p.l).ToArray(), device: policy.device);
        var ratio = policy - reference;
        var logits = beta * (ratio.index_select(0, wins) - ratio.index_select(0, losses));
        var loss = -nn.functional.logsigmoid(logits).mean();
        return new LossParts(loss, sft, loss);
    }
}
