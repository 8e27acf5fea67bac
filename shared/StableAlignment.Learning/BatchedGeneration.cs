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
/// Decodes several sequences together (see <see cref="DecodeBatch"/>): all of them join at once and the batch runs until
/// the last one finishes. Greedy rows give the same tokens as <see cref="Generation.Generate"/> one at a time.
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

        using var batch = new DecodeBatch(model, tokenizer);
        var rows = requests.Select((r, i) => new DecodeRow(r, onText is null ? null : text => onText(i, text))).ToList();
        batch.Join(rows);
        while (batch.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            batch.Step();
        }

        return [.. rows.Select(r => r.Result!)];
    }
}

/// <summary>
/// One sequence being decoded: its request, its prompt with the tokenizer's start tokens, the tokens and text so far,
/// and its result once it finished (<see cref="DecodeBatch"/>).
/// </summary>
public sealed class DecodeRow
{
    private readonly Action<string>? _onText;
    private readonly Random _rng;
    private readonly List<TokenLogprob>? _logprobs;
    private int _sent;
    private string _text = string.Empty;

    /// <param name="onText">Called with new text as it becomes final — what a streaming client receives.</param>
    public DecodeRow(BatchRequest request, Action<string>? onText = null)
    {
        Request = request;
        _onText = onText;
        _rng = new Random(request.Seed);
        _logprobs = request.TopLogprobs is null ? null : [];
    }

    public BatchRequest Request { get; }

    /// <summary>The ids fed at prefill: start tokens and prompt (its tail, when it leaves no room for a new token).</summary>
    internal int[] Prompt { get; private set; } = [];

    /// <summary>Left padding of this row in the batch's key/value cache: its real keys start here.</summary>
    internal int Pad { get; set; }

    internal List<int> Generated { get; } = [];

    internal FinishReason? Finish { get; set; }

    /// <summary>Set when the row finished: its text, token counts and finish reason.</summary>
    public BatchResult? Result { get; private set; }

    internal void Prepare(ITokenizer tokenizer, int limit)
    {
        // The prompt keeps its tail when it does not leave room for at least one new token, as Generation.Generate does.
        var start = tokenizer.Start.ToArray();
        var ids = start.Concat(Request.Prompt).ToArray();
        Prompt = ids.Length >= limit - 1 ? [.. start, .. Request.Prompt.Skip(Request.Prompt.Count - (limit / 2))] : ids;
    }

    /// <summary>Samples this row's next token from its logits; false when the row finished (its result is then set).</summary>
    internal bool Sample(Tensor logits, ITokenizer tokenizer, int limit, out long token)
    {
        token = 0;
        if (Request.Cancel.IsCancellationRequested)
        {
            // Nobody waits for this row any more: it leaves now instead of decoding to its budget.
            Finish = FinishReason.Length;
        }
        else
        {
            token = Generation.Sample(logits, Request.Temperature, Request.TopP, _rng);
            if (token == tokenizer.EosId)
            {
                Finish = FinishReason.Stop;
            }
            else
            {
                Generated.Add((int)token);
                if (Request.TopLogprobs is { } k)
                {
                    _logprobs!.Add(Logprob(logits, token, k));
                }

                Emit(tokenizer, final: false);
                if (Finish is null && (Generated.Count >= Request.MaxNewTokens || Prompt.Length + Generated.Count >= limit))
                {
                    Finish = FinishReason.Length;
                }
            }
        }

        if (Finish is null)
        {
            return true;
        }

        Emit(tokenizer, final: true);
        Result = new BatchResult(_text, Prompt.Length, Generated.Count, Finish.Value, _logprobs);
        return false;
    }

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
    private void Emit(ITokenizer tokenizer, bool final)
    {
        var text = tokenizer.Decode(Generated);
        var stops = Request.Stop ?? [];
        var cut = stops.Where(s => s.Length > 0).Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        if (cut >= 0)
        {
            text = text[..cut];
            Finish ??= FinishReason.Stop;
            final = true;
        }

        _text = text;
        var ready = final ? text.Length : Settled(text, stops);
        if (ready > _sent)
        {
            _onText?.Invoke(text[_sent..ready]);
            _sent = ready;
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

/// <summary>
/// A running decode batch that sequences join and leave at every step (continuous batching): one key/value cache for
/// all rows, each row left-padded to the cache's length with its own positions and a mask that hides the padding.
/// <see cref="Join"/> prefills new rows on their own and merges their cache into the running one, so they decode from
/// the next step on; <see cref="Step"/> computes one token for every row, and rows that finish leave at once (their
/// cache rows are dropped, and padding no row needs any more is cut off the front).
/// </summary>
public sealed class DecodeBatch(LlamaForCausalLM model, ITokenizer tokenizer) : IDisposable
{
    private readonly Device _device = model.parameters().First().device;
    private readonly int _limit = model.Config.MaxPositions;
    private readonly List<DecodeRow> _rows = [];
    private KvCache _cache = new(model.Config.Layers);
    private Tensor? _logits;

    /// <summary>The rows decoding now.</summary>
    public int Count => _rows.Count;

    /// <summary>
    /// Prefills <paramref name="rows"/> together and adds them to the batch. Should that fail, each is prefilled alone,
    /// so only a row that fails by itself is left out; those are returned with their exception.
    /// </summary>
    public IReadOnlyList<(DecodeRow Row, Exception Error)> Join(IReadOnlyList<DecodeRow> rows)
    {
        if (rows.Count == 0)
        {
            return [];
        }

        foreach (var row in rows)
        {
            row.Prepare(tokenizer, _limit);
        }

        try
        {
            Add(rows);
            return [];
        }
        catch (Exception) when (rows.Count > 1)
        {
            var failed = new List<(DecodeRow, Exception)>();
            foreach (var row in rows)
            {
                try
                {
                    Add([row]);
                }
                catch (Exception e)
                {
                    failed.Add((row, e));
                }
            }

            return failed;
        }
    }

    /// <summary>One step: a token for every row; rows that finish leave (their <see cref="DecodeRow.Result"/> set) and are returned.</summary>
    public IReadOnlyList<DecodeRow> Step()
    {
        if (_rows.Count == 0)
        {
            return [];
        }

        var was = model.training;
        model.eval();
        try
        {
            using var grad = no_grad();
            var next = new long[_rows.Count];
            var keep = new List<int>();
            var finished = new List<DecodeRow>();
            using (var logits = _logits!)
            {
                _logits = null;
                for (var a = 0; a < _rows.Count; a++)
                {
                    using var row = logits[a];
                    if (_rows[a].Sample(row, tokenizer, _limit, out next[a]))
                    {
                        keep.Add(a);
                    }
                    else
                    {
                        finished.Add(_rows[a]);
                    }
                }
            }

            if (keep.Count == 0)
            {
                Reset();
                return finished;
            }

            _logits = Decode(next, keep);
            return finished;
        }
        finally
        {
            model.train(was);
        }
    }

    /// <summary>Drops the finished rows from the cache and feeds each remaining row its new token; the next logits.</summary>
    private Tensor Decode(long[] next, List<int> keep)
    {
        using var scope = NewDisposeScope();
        if (keep.Count < _rows.Count)
        {
            _cache.Keep(tensor(keep.Select(k => (long)k).ToArray(), device: _device));
            var survivors = keep.Select(k => _rows[k]).ToList();
            _rows.Clear();
            _rows.AddRange(survivors);
            TrimFront();
        }

        var kv = (int)_cache.Length;
        // The token fed now sits right after the row's prompt and the tokens before it.
        var positions = _rows.Select(r => (long)(r.Prompt.Length + r.Generated.Count - 1)).ToArray();
        using var keyCount = (kv + 1).ToScalar();
        var keys = arange(keyCount, dtype: ScalarType.Int64, device: _device).unsqueeze(0);
        var mask = (keys >= tensor(_rows.Select(r => (long)r.Pad).ToArray(), [_rows.Count, 1], device: _device)).view(_rows.Count, 1, 1, kv + 1);
        var input = tensor(keep.Select(k => next[k]).ToArray(), [_rows.Count, 1], device: _device);
        var layout = new BatchLayout(tensor(positions, [_rows.Count, 1], device: _device), mask);
        return model.Forward(input, _cache, layout)[.., -1].to(ScalarType.Float32).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>Prefills <paramref name="rows"/> in a cache of their own, then merges it and their logits into the batch.</summary>
    private void Add(IReadOnlyList<DecodeRow> rows)
    {
        var was = model.training;
        model.eval();
        var cache = new KvCache(model.Config.Layers);
        try
        {
            using var grad = no_grad();
            using var scope = NewDisposeScope();
            var width = rows.Max(r => r.Prompt.Length);
            var pads = rows.Select(r => width - r.Prompt.Length).ToArray();
            var ids = new long[rows.Count * width];
            for (var r = 0; r < rows.Count; r++)
            {
                for (var i = 0; i < width; i++)
                {
                    ids[(r * width) + i] = i < pads[r] ? tokenizer.PadId : rows[r].Prompt[i - pads[r]];
                }
            }

            // Row r's real tokens start at pads[r]: positions count from there; a query sees the earlier real tokens and
            // itself (a pad position only itself).
            var pad = tensor(pads.Select(p => (long)p).ToArray(), [rows.Count, 1], device: _device);
            using var stop = width.ToScalar();
            using var zero = 0.ToScalar();
            var index = arange(stop, dtype: ScalarType.Int64, device: _device).unsqueeze(0);
            var real = (index >= pad).unsqueeze(1);
            var causal = ones(width, width, dtype: ScalarType.Bool, device: _device).tril();
            var self = eye(width, dtype: ScalarType.Bool, device: _device);
            var layout = new BatchLayout((index - pad).clamp_min(zero), (causal & (real | self)).unsqueeze(1));
            var logits = model.Forward(tensor(ids, [rows.Count, width], device: _device), cache, layout)[.., -1].to(ScalarType.Float32).cpu();

            // Both caches are left-padded to the longer one, so each row keeps its keys at the end.
            var (running, joining) = (_cache.Length, cache.Length);
            var length = Math.Max(running, joining);
            foreach (var row in _rows)
            {
                row.Pad += (int)(length - running);
            }

            for (var r = 0; r < rows.Count; r++)
            {
                rows[r].Pad = pads[r] + (int)(length - joining);
            }

            _cache.Merge(cache);
            _logits = _logits is null ? logits.MoveToOuterDisposeScope() : cat([_logits, logits], 0).MoveToOuterDisposeScope();
            _rows.AddRange(rows);
        }
        finally
        {
            cache.Dispose();
            model.train(was);
        }
    }

    /// <summary>Cuts the cache positions that are padding for every row.</summary>
    private void TrimFront()
    {
        var cut = _rows.Min(r => r.Pad);
        if (cut > 0)
        {
            _cache.DropFront(cut);
            foreach (var row in _rows)
            {
                row.Pad -= cut;
            }
        }
    }

    /// <summary>Drops every row (after a failed step): the batch starts over empty.</summary>
    public void Clear() => Reset();

    /// <summary>An empty batch starts over with an empty cache.</summary>
    private void Reset()
    {
        _rows.Clear();
        _logits?.Dispose();
        _logits = null;
        _cache.Dispose();
        _cache = new KvCache(model.Config.Layers);
    }

    public void Dispose()
    {
        _logits?.Dispose();
        _cache.Dispose();
    }
}
