using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>How strongly a model prefers the better-rated responses of held-out groups.</summary>
public sealed record PreferenceScore(int Groups, int Pairs, double PairwiseAccuracy, double NllGap);

public static class PreferenceEval
{
    /// <summary>
    /// For each group: the length-normalised NLL of every response. Pairwise accuracy counts pairs of distinct
    /// ratings where the better one has the lower NLL; the NLL gap is, per group, the mean NLL of the responses
    /// rated below the best minus the best's NLL, averaged over groups (larger: the model prefers the best more).
    /// </summary>
    public static PreferenceScore Score(LlamaForCausalLM model, ITokenizer tokenizer, IReadOnlyList<RatedGroup> groups, int maxLength = 256)
    {
        model.eval();
        var device = model.parameters().First().device;
        int pairs = 0, correct = 0, gapGroups = 0;
        double gap = 0;
        using (no_grad())
        {
            foreach (var g in groups)
            {
                using var scope = NewDisposeScope();
                using var batch = SequenceBatch.Encode(tokenizer, g.Query, g.Responses, maxLength, device);
                var nll = batch.ResponseNll(model).data<float>().ToArray();
                for (var i = 0; i < nll.Length; i++)
                {
                    for (var j = 0; j < nll.Length; j++)
                    {
                        if (g.Scores[i] > g.Scores[j])
                        {
                            pairs++;
                            correct += nll[i] < nll[j] ? 1 : 0;
                        }
                    }
                }

                var best = StableAlignmentLoss.Best(g.Scores);
                var worse = Enumerable.Range(0, nll.Length).Where(k => g.Scores[k] < g.Scores[best]).ToList();
                if (worse.Count > 0)
                {
                    gap += worse.Average(k => nll[k]) - nll[best];
                    gapGroups++;
                }
            }
        }

        model.train();
        return new PreferenceScore(groups.Count, pairs, pairs == 0 ? double.NaN : (double)correct / pairs, gapGroups == 0 ? double.NaN : gap / gapGroups);
    }
}
