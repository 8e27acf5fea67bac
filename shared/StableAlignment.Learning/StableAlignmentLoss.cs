using StableAlignment.Contracts;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>The settings of the loss; the paper's defaults.</summary>
public sealed record LossOptions
{
    /// <summary>The defaults, which are <see cref="TrainingRecipe"/>'s: one definition of each.</summary>
    private static readonly TrainingRecipe Recipe = new();

    public LossKind Kind { get; init; } = LossKind.StableAlignment;

    /// <summary>DPO's β: how far the policy may move from the reference.</summary>
    public double Beta { get; init; } = Recipe.Beta;

    /// <summary>M: the margin at the full rating gap.</summary>
    public double Margin { get; init; } = Recipe.Margin;

    /// <summary>λ: weight of the contrastive part.</summary>
    public double Ratio { get; init; } = Recipe.Ratio;

    /// <summary>R: the rating scale.</summary>
    public double RatingScale { get; init; } = Recipe.RatingScale;

    /// <summary>Hinge on the largest term instead of the mean.</summary>
    public bool MaxFlow { get; init; }

    /// <summary>The SFT baseline: the best response's NLL alone.</summary>
    public bool SftOnly => Kind == LossKind.Sft;

    /// <summary>Responses per query in one step (num_comp).</summary>
    public int Comparisons { get; init; } = Recipe.NumComp;

    /// <summary>
    /// m̄, the fixed-margin ablation's constant margin. The trainer sets it to the mean modulated margin of its data's
    /// draws (<see cref="StableAlignmentLoss.MeanModulatedMargin"/>) unless given.
    /// </summary>
    public double? ConstantMargin { get; init; }
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

    /// <summary>The margin of response k against the best: (r_b − r_k)/R·M.</summary>
    public static double Modulated(int best, int rating, LossOptions o) => (best - rating) / o.RatingScale * o.Margin;

    /// <summary>
    /// m̄ for the fixed-margin ablation: the mean of (r_b − r_k)/R·M over every k ≠ b of every draw the method would make
    /// (<paramref name="draws"/>: the ratings of each step's drawn responses), ties included. 0 when no draw has two responses.
    /// </summary>
    public static double MeanModulatedMargin(IEnumerable<IReadOnlyList<int>> draws, LossOptions o)
    {
        double sum = 0;
        long count = 0;
        foreach (var ratings in draws)
        {
            var b = Best(ratings);
            for (var k = 0; k < ratings.Count; k++)
            {
                if (k != b)
                {
                    sum += Modulated(ratings[b], ratings[k], o);
                    count++;
                }
            }
        }

        return count == 0 ? 0 : sum / count;
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

        // Every other response, ties included (their modulated margin is 0): one hinge on the mean, as the authors' code.
        var others = Enumerable.Range(0, ratings.Count).Where(k => k != b).ToArray();
        var constant = o.Kind == LossKind.FixedMargin
            ? o.ConstantMargin ?? throw new ArgumentException("The fixed-margin ablation needs its constant margin (the trainer computes it from the data).")
            : 0;
        var margins = tensor(others.Select(k => o.Kind == LossKind.FixedMargin ? constant : Modulated(ratings[b], ratings[k], o)).ToArray(), dtype: nll.dtype, device: nll.device);
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
