using TorchSharp;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>Token ids of query + response sequences, padded, with a mask over the response tokens' predictions.</summary>
public sealed class SequenceBatch : IDisposable
{
    public required Tensor Tokens { get; init; }

    /// <summary>(batch, time − 1): 1 where the next token is a response token (prompt tokens are masked).</summary>
    public required Tensor ResponseMask { get; init; }

    public long TokenCount { get; init; }

    /// <summary>
    /// The tokenizer's sequence start (BOS where it has one) + query + response + EOS, cut to <paramref name="maxLength"/>
    /// by dropping the start of the query first. A query without its start token still has one token to predict the
    /// response's first token from: maxLength leaves room for at least one query token.
    /// </summary>
    public static SequenceBatch Encode(ITokenizer tokenizer, string query, IReadOnlyList<string> responses, int maxLength, Device device)
    {
        var q = tokenizer.Encode(query);
        return FromSequences([.. responses.Select(r => Sequence(tokenizer, q, r, maxLength))], tokenizer.PadId, device);
    }

    /// <summary>One training sequence of an already tokenized query and a response (see <see cref="Encode"/>).</summary>
    /// <param name="appendEos">Follow the response with the end-of-sequence token (the original does not).</param>
    /// <param name="cutEnd">
    /// Over-long sequences as the original cuts them: [start, prompt, response] keeps its first <paramref name="maxLength"/>
    /// tokens, so the response goes first and a long enough prompt leaves none of it. Otherwise (the default) the response
    /// keeps up to the whole length and the prompt's head is cut.
    /// </param>
    public static EncodedSequence Sequence(ITokenizer tokenizer, int[] query, string response, int maxLength, bool appendEos = true, bool cutEnd = false)
    {
        var start = tokenizer.Start.Count;
        if (cutEnd)
        {
            int[] whole = [.. tokenizer.Start, .. query, .. tokenizer.Encode(response), .. appendEos ? [tokenizer.EosId] : Array.Empty<int>()];
            return new EncodedSequence(whole.Length > maxLength ? whole[..maxLength] : whole, Math.Min(start + query.Length, maxLength));
        }

        var resp = appendEos ? tokenizer.Encode(response).Append(tokenizer.EosId).ToArray() : tokenizer.Encode(response);
        resp = resp.Length > maxLength - start - 1 ? resp[..(maxLength - start - 1)] : resp;
        var room = maxLength - start - resp.Length;
        var qCut = query.Length > room ? query[^room..] : query;
        return new EncodedSequence([.. tokenizer.Start, .. qCut, .. resp], start + qCut.Length);
    }

    /// <summary>
    /// Sequences of any number of queries in one right-padded batch. Causal attention keeps every real position blind
    /// to the padding after it, so each row's NLL is what it would be alone.
    /// </summary>
    public static SequenceBatch FromSequences(IReadOnlyList<EncodedSequence> rows, int padId, Device device)
    {
        var length = rows.Max(r => r.Tokens.Length);
        var tokens = new long[rows.Count * length];
        var mask = new float[rows.Count * (length - 1)];
        Array.Fill(tokens, padId);
        for (var i = 0; i < rows.Count; i++)
        {
            var (seq, start) = (rows[i].Tokens, rows[i].ResponseStart);
            for (var t = 0; t < seq.Length; t++)
            {
                tokens[(i * length) + t] = seq[t];
            }

            for (var t = Math.Max(0, start - 1); t < seq.Length - 1; t++)
            {
                mask[(i * (length - 1)) + t] = 1;
            }
        }

        return new SequenceBatch
        {
            Tokens = tensor(tokens, [rows.Count, length], device: device),
            ResponseMask = tensor(mask, [rows.Count, length - 1], device: device),
            TokenCount = rows.Sum(r => r.Tokens.Length),
        };
    }

    /// <summary>Length-normalised NLL of each row's response tokens, shape (batch).</summary>
    public Tensor ResponseNll(LlamaForCausalLM model)
    {
        using var scope = NewDisposeScope();
        var (sums, counts) = ResponseNllSums(model);
        return (sums / counts).MoveToOuterDisposeScope();
    }

    /// <summary>Summed NLL of each row's response tokens and the number of those tokens (at least 1), both shape (batch).</summary>
    public (Tensor Sums, Tensor Counts) ResponseNllSums(LlamaForCausalLM model)
    {
        using var scope = NewDisposeScope();
        var input = Tokens[TensorIndex.Colon, TensorIndex.Slice(0, -1)];
        var target = Tokens[TensorIndex.Colon, TensorIndex.Slice(1)];
        var logits = model.forward(input).to(ScalarType.Float32);
        var ce = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), target.reshape(-1), reduction: nn.Reduction.None)
            .view(target.shape[0], target.shape[1]);
        var sums = (ce * ResponseMask).sum(1);
        using var one = 1.ToScalar();
        var counts = ResponseMask.sum(1).clamp_min(one);
        return (sums.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        Tokens.Dispose();
        ResponseMask.Dispose();
    }
}
