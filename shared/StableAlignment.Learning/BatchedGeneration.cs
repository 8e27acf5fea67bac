using TorchSharp;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>One sequence of a batch: its prompt ids (without the tokenizer's start tokens) and how to sample it.</summary>
/// <param name="Stop">Strings that end the generation; the text returned stops before the first of them.</param>
/// <param name="Cancel">When the caller goes away (a client that disconnected): the row leaves the batch at the next step.</param>
/// <param name="TopLogprobs">Null: no log-probabilities. Otherwise each generated token's log-probability under the model, and that many of the most likely tokens at its step with theirs.</param>
public sealed record BatchRequest(IReadOnlyList<int> Prompt, double Temperature = 0.7, double TopP = 0.9, int MaxNewTokens = 256, int Seed = 0, IReadOnlyList<string>? Stop = null,
    CancellationToken Cancel = default, int? TopLogprobs = null);

/// <summary>A generated sequence: its text, its token counts, why it ended, and (when asked for) its tokens' log-probabilities.</summary>
public sealed record BatchResult(string Text, int PromptTokens, int CompletionTokens, FinishReason FinishReason, IReadOnlyList<TokenLogprob>? Logprobs = null);

/// <summary>A generated token's log-probability (natural log, from the model's logits before temperature and top-p) and the most likely tokens at its step.</summary>
public sealed record TokenLogprob(int Token, float Logprob, IReadOnlyList<(int Token, float Logprob)> Top);

/// <summary>
/// Decodes several sequences together with one key/value cache: the prompts are left-padded to a common length, each
/// row gets its own positions and a mask that hides the padding, and every step computes one new token for every row
/// still running. Rows that finish leave the batch (their cache rows are dropped), so a long answer does not make the
/// short ones pay. Greedy rows give the same tokens as <see cref="Generation.Generate"/> one at a time.
/// </summary>
public static class BatchedGeneration
{
    /// <param name="onText">Called with (row, new text) as text becomes final — what a streaming client receives.</param>
    public static IReadOnlyList<BatchResult> Generate(LlamaForCausalLM model, ITokenizer tokenizer, IReadOnlyList<BatchRequest> requests,
        Action<int, string>? onText = null, CancellationToken ct = default)
    {
        if (requests.Count == 0)
        {
            return [];
        }

        var batch = new Batch(model, tokenizer, requests, onText);
        var was = model.training;
        model.eval();
        try
        {
            using var cache = new KvCache(model.Config.Layers);
            using (no_grad())
            {
                var logits = batch.Prefill(cache);
                for (var step = 0; batch.Active.Count > 0; step++)
                {
                    ct.ThrowIfCancellationRequested();
                    var (next, keep) = batch.Sample(logits, step);
                    if (keep.Count == 0)
                    {
                        break;
                    }

                    logits = batch.Decode(cache, next, keep);
                }
            }
        }
        finally
        {
            model.train(was);
        }

        return batch.Results();
    }

    /// <summary>The state of one batch being decoded: the padded prompts, each row's tokens, text and finish, the rows still running.</summary>
    private sealed class Batch
    {
        private readonly LlamaForCausalLM _model;
        private readonly ITokenizer _tokenizer;
        private readonly IReadOnlyList<BatchRequest> _requests;
        private readonly Action<int, string>? _onText;
        private readonly Device _device;
        private readonly int _limit;
        private readonly int[][] _prompts;
        private readonly int _width;
        private readonly int[] _pads;
        private readonly List<int>[] _generated;
        private readonly int[] _sent;
        private readonly FinishReason?[] _finish;
        private readonly string[] _texts;
        private readonly Random[] _rngs;
        private readonly List<TokenLogprob>?[] _logprobs;

        public Batch(LlamaForCausalLM model, ITokenizer tokenizer, IReadOnlyList<BatchRequest> requests, Action<int, string>? onText)
        {
            (_model, _tokenizer, _requests, _onText) = (model, tokenizer, requests, onText);
            _device = model.parameters().First().device;
            _limit = model.Config.MaxPositions;
            var start = tokenizer.Start.ToArray();
            // The prompt keeps its tail when it does not leave room for at least one new token, as Generation.Generate does.
            _prompts = [.. requests.Select(r =>
            {
                var ids = start.Concat(r.Prompt).ToArray();
                return ids.Length >= _limit - 1 ? [.. start, .. r.Prompt.Skip(r.Prompt.Count - (_limit / 2))] : ids;
            })];
            _width = _prompts.Max(p => p.Length);
            var rows = requests.Count;
            _pads = [.. _prompts.Select(p => _width - p.Length)];
            _generated = [.. Enumerable.Range(0, rows).Select(_ => new List<int>())];
            _sent = new int[rows];
            _finish = new FinishReason?[rows];
            _texts = new string[rows];
            _rngs = [.. requests.Select(r => new Random(r.Seed))];
            _logprobs = [.. requests.Select(r => r.TopLogprobs is null ? null : new List<TokenLogprob>())];
            Active = [.. Enumerable.Range(0, rows)];
        }

        /// <summary>The rows still decoding, in their order in the cache.</summary>
        public List<int> Active { get; private set; }

        /// <summary>
        /// Runs the left-padded prompts through the model, filling the cache; the last position's logits of each row.
        /// Row r's real tokens start at pads[r]: positions count from there; a query sees the earlier real tokens and
        /// itself (a pad position only itself).
        /// </summary>
        public Tensor Prefill(KvCache cache)
        {
            using var scope = NewDisposeScope();
            var rows = _requests.Count;
            var ids = new long[rows * _width];
            for (var r = 0; r < rows; r++)
            {
                for (var i = 0; i < _width; i++)
                {
                    ids[(r * _width) + i] = i < _pads[r] ? _tokenizer.PadId : _prompts[r][i - _pads[r]];
                }
            }

            var pad = tensor(_pads.Select(p => (long)p).ToArray(), [rows, 1], device: _device);
            using var stop = _width.ToScalar();
            using var zero = 0.ToScalar();
            var index = arange(stop, dtype: ScalarType.Int64, device: _device).unsqueeze(0);
            var real = (index >= pad).unsqueeze(1);
            var causal = ones(_width, _width, dtype: ScalarType.Bool, device: _device).tril();
            var self = eye(_width, dtype: ScalarType.Bool, device: _device);
            var layout = new BatchLayout((index - pad).clamp_min(zero), (causal & (real | self)).unsqueeze(1));
            return _model.Forward(tensor(ids, [rows, _width], device: _device), cache, layout)[.., -1].to(ScalarType.Float32).cpu().MoveToOuterDisposeScope();
        }

        /// <summary>
        /// Samples one token for every active row from <paramref name="logits"/> (disposed here), records finishes and
        /// streams the text that became final: the token of each active row, and the positions (in <see cref="Active"/>) of the rows that go on.
        /// </summary>
        public (long[] Next, List<int> Keep) Sample(Tensor logits, int step)
        {
            var next = new long[Active.Count];
            var keep = new List<int>();
            using (logits)
            {
                for (var a = 0; a < Active.Count; a++)
                {
                    var r = Active[a];
                    if (_requests[r].Cancel.IsCancellationRequested)
                    {
                        // Nobody waits for this row any more: it leaves now instead of decoding to its budget.
                        _finish[r] = FinishReason.Length;
                        continue;
                    }

                    using var row = logits[a];
                    var token = Generation.Sample(row, _requests[r].Temperature, _requests[r].TopP, _rngs[r]);
                    next[a] = token;
                    if (token == _tokenizer.EosId)
                    {
                        _finish[r] = FinishReason.Stop;
                    }
                    else
                    {
                        _generated[r].Add(token);
                        if (_requests[r].TopLogprobs is { } k)
                        {
                            _logprobs[r]!.Add(Logprob(row, token, k));
                        }

                        Emit(r, final: false);
                        if (_finish[r] is null && (_generated[r].Count >= _requests[r].MaxNewTokens || _width + step + 1 >= _limit))
                        {
                            _finish[r] = FinishReason.Length;
                        }
                    }

                    if (_finish[r] is null)
                    {
                        keep.Add(a);
                    }
                    else
                    {
                        Emit(r, final: true);
                    }
                }
            }

            return (next, keep);
        }

        /// <summary>Drops the finished rows from the cache and feeds each remaining row its new token; the next logits.</summary>
        public Tensor Decode(KvCache cache, long[] next, List<int> keep)
        {
            using var scope = NewDisposeScope();
            if (keep.Count < Active.Count)
            {
                cache.Keep(tensor(keep.Select(k => (long)k).ToArray(), device: _device));
            }

            var survivors = keep.Select(k => Active[k]).ToList();
            var kv = (int)cache.Length;
            // The token fed now sits right after the row's prompt and the tokens before it.
            var positions = survivors.Select(r => (long)(_width - _pads[r] + _generated[r].Count - 1)).ToArray();
            using var keyCount = (kv + 1).ToScalar();
            var keys = arange(keyCount, dtype: ScalarType.Int64, device: _device).unsqueeze(0);
            var mask = (keys >= tensor(survivors.Select(r => (long)_pads[r]).ToArray(), [survivors.Count, 1], device: _device)).view(survivors.Count, 1, 1, kv + 1);
            var input = tensor(keep.Select(k => next[k]).ToArray(), [survivors.Count, 1], device: _device);
            var layout = new BatchLayout(tensor(positions, [survivors.Count, 1], device: _device), mask);
            Active = survivors;
            return _model.Forward(input, cache, layout)[.., -1].to(ScalarType.Float32).cpu().MoveToOuterDisposeScope();
        }

        public IReadOnlyList<BatchResult> Results() =>
            [.. Enumerable.Range(0, _requests.Count).Select(r => new BatchResult(_texts[r] ?? string.Empty, _prompts[r].Length, _generated[r].Count, _finish[r] ?? FinishReason.Length, _logprobs[r]))];

        private static TokenLogprob Logprob(Tensor logits, long token, int top)
        {
            using var scope = NewDisposeScope();
            var logprobs = logits.log_softmax(0);
            var chosen = logprobs[token].item<float>();
            if (top == 0)
            {
                return new TokenLogprob((int)token, chosen, []);
            }

            var (values, indices) = logprobs.topk(Math.Min(top, (int)logprobs.shape[0]));
            var v = values.data<float>().ToArray();
            var i = indices.data<long>().ToArray();
            return new TokenLogprob((int)token, chosen, [.. i.Select((id, n) => ((int)id, v[n]))]);
        }

        /// <summary>
        /// The text so far, cut at the first stop string; streamed up to what can no longer change (a stop string may
        /// still be completing, and a byte-level tokenizer may be in the middle of a character).
        /// </summary>
        private void Emit(int r, bool final)
        {
            var text = _tokenizer.Decode(_generated[r]);
            var stops = _requests[r].Stop ?? [];
            var cut = stops.Where(s => s.Length > 0).Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (cut >= 0)
            {
                text = text[..cut];
                _finish[r] ??= FinishReason.Stop;
                final = true;
            }

            _texts[r] = text;
            var ready = final ? text.Length : Settled(text, stops);
            if (ready > _sent[r])
            {
                _onText?.Invoke(r, text[_sent[r]..ready]);
                _sent[r] = ready;
            }
        }

        /// <summary>How much of a running row's text can no longer change: not a trailing partial character, not the start of a stop string.</summary>
        private static int Settled(string text, IReadOnlyList<string> stops)
        {
            var ready = text.Length;
            while (ready > 0 && text[ready - 1] == '\uFFFD')
            {
                ready--;
            }

            foreach (var s in stops.Where(s => s.Length > 0))
            {
                for (var n = Math.Min(s.Length - 1, ready); n > 0; n--)
                {
                    if (string.CompareOrdinal(text, ready - n, s, 0, n) == 0)
                    {
                        ready = Math.Min(ready, text.Length - n);
                        break;
                    }
                }
            }

            return ready;
        }
    }
}
