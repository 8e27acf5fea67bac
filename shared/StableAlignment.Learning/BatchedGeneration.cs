using TorchSharp;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>One sequence of a batch: its prompt ids (without the tokenizer's start tokens) and how to sample it.</summary>
/// <param name="Stop">Strings that end the generation; the text returned stops before the first of them.</param>
public sealed record BatchRequest(IReadOnlyList<int> Prompt, double Temperature = 0.7, double TopP = 0.9, int MaxNewTokens = 256, int Seed = 0, IReadOnlyList<string>? Stop = null);

/// <summary>Why a sequence ended, in the OpenAI API's words: <c>stop</c> (end of sequence or a stop string) or <c>length</c>.</summary>
public sealed record BatchResult(string Text, int PromptTokens, int CompletionTokens, string FinishReason);

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

        var device = model.parameters().First().device;
        var limit = model.Config.MaxPositions;
        var start = tokenizer.Start.ToArray();
        // The prompt keeps its tail when it does not leave room for at least one new token, as Generation.Generate does.
        var prompts = requests.Select(r =>
        {
            var ids = start.Concat(r.Prompt).ToArray();
            return ids.Length >= limit - 1 ? [.. start, .. r.Prompt.Skip(r.Prompt.Count - (limit / 2))] : ids;
        }).ToArray();
        var width = prompts.Max(p => p.Length);
        var rows = requests.Count;
        var pads = prompts.Select(p => width - p.Length).ToArray();
        var generated = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var sent = new int[rows];
        var finish = new string?[rows];
        var texts = new string[rows];
        var rngs = requests.Select(r => new Random(r.Seed)).ToArray();
        var active = Enumerable.Range(0, rows).ToList();

        var was = model.training;
        model.eval();
        try
        {
            using var cache = new KvCache(model.Config.Layers);
            using (no_grad())
            {
                Tensor logits;
                using (var scope = NewDisposeScope())
                {
                    var ids = new long[rows * width];
                    for (var r = 0; r < rows; r++)
                    {
                        for (var i = 0; i < width; i++)
                        {
                            ids[(r * width) + i] = i < pads[r] ? tokenizer.PadId : prompts[r][i - pads[r]];
                        }
                    }

                    // Row r's real tokens start at pads[r]: positions count from there; a query sees the earlier real
                    // tokens and itself (a pad position only itself).
                    var pad = tensor(pads.Select(p => (long)p).ToArray(), [rows, 1], device: device);
                    using var stop = width.ToScalar();
                    using var zero = 0.ToScalar();
                    var index = arange(stop, dtype: ScalarType.Int64, device: device).unsqueeze(0);
                    var real = (index >= pad).unsqueeze(1);
                    var causal = ones(width, width, dtype: ScalarType.Bool, device: device).tril();
                    var self = eye(width, dtype: ScalarType.Bool, device: device);
                    var layout = new BatchLayout((index - pad).clamp_min(zero), (causal & (real | self)).unsqueeze(1));
                    logits = model.Forward(tensor(ids, [rows, width], device: device), cache, layout)[.., -1].to(ScalarType.Float32).cpu().MoveToOuterDisposeScope();
                }

                for (var step = 0; active.Count > 0; step++)
                {
                    ct.ThrowIfCancellationRequested();
                    var next = new long[active.Count];
                    var keep = new List<int>();
                    using (logits)
                    {
                        for (var a = 0; a < active.Count; a++)
                        {
                            var r = active[a];
                            using var row = logits[a];
                            var token = Generation.Sample(row, requests[r].Temperature, requests[r].TopP, rngs[r]);
                            next[a] = token;
                            if (token == tokenizer.EosId)
                            {
                                finish[r] = "stop";
                            }
                            else
                            {
                                generated[r].Add(token);
                                Emit(r, final: false);
                                if (finish[r] is null && generated[r].Count >= requests[r].MaxNewTokens)
                                {
                                    finish[r] = "length";
                                }
                                else if (finish[r] is null && width + step + 1 >= limit)
                                {
                                    finish[r] = "length";
                                }
                            }

                            if (finish[r] is null)
                            {
                                keep.Add(a);
                            }
                            else
                            {
                                Emit(r, final: true);
                            }
                        }
                    }

                    if (keep.Count == 0)
                    {
                        break;
                    }

                    using var scope = NewDisposeScope();
                    if (keep.Count < active.Count)
                    {
                        cache.Keep(tensor(keep.Select(k => (long)k).ToArray(), device: device));
                    }

                    var survivors = keep.Select(k => active[k]).ToList();
                    var kv = (int)cache.Length;
                    // The token fed now sits right after the row's prompt and the tokens before it.
                    var positions = survivors.Select(r => (long)(width - pads[r] + generated[r].Count - 1)).ToArray();
                    using var keyCount = (kv + 1).ToScalar();
                    var keys = arange(keyCount, dtype: ScalarType.Int64, device: device).unsqueeze(0);
                    var mask = (keys >= tensor(survivors.Select(r => (long)pads[r]).ToArray(), [survivors.Count, 1], device: device)).view(survivors.Count, 1, 1, kv + 1);

                    var input = tensor(keep.Select(k => next[k]).ToArray(), [survivors.Count, 1], device: device);
                    var decodeLayout = new BatchLayout(tensor(positions, [survivors.Count, 1], device: device), mask);
                    logits = model.Forward(input, cache, decodeLayout)[.., -1].to(ScalarType.Float32).cpu().MoveToOuterDisposeScope();
                    active = survivors;
                }
            }
        }
        finally
        {
            model.train(was);
        }

        return [.. Enumerable.Range(0, rows).Select(r => new BatchResult(texts[r] ?? string.Empty, prompts[r].Length, generated[r].Count, finish[r] ?? "length"))];

        // The text so far, cut at the first stop string; streamed up to what can no longer change (a stop string may
        // still be completing, and a byte-level tokenizer may be in the middle of a character).
        void Emit(int r, bool final)
        {
            var text = tokenizer.Decode(generated[r]);
            var stops = requests[r].Stop ?? [];
            var cut = stops.Where(s => s.Length > 0).Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (cut >= 0)
            {
                text = text[..cut];
                finish[r] ??= "stop";
                final = true;
            }

            texts[r] = text;
            var ready = text.Length;
            if (!final)
            {
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
            }

            if (ready > sent[r])
            {
                onText?.Invoke(r, text[sent[r]..ready]);
                sent[r] = ready;
            }
        }
    }
}
