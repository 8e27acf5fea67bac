using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>Sampling settings; the paper's evaluation used temperature 0.7, top-p 0.9, up to 256 new tokens.</summary>
public sealed record GenerationOptions(double Temperature = 0.7, double TopP = 0.9, int MaxNewTokens = 256, bool UseCache = true, int Seed = 0, bool StopAtEos = true);

/// <summary>Text generation from a local checkpoint, with or without the key/value cache.</summary>
public static class Generation
{
    public static (string Text, int Tokens) Generate(LlamaForCausalLM model, ITokenizer tokenizer, string prompt, GenerationOptions o)
    {
        model.eval();
        var device = model.parameters().First().device;
        var start = tokenizer.Start.Select(t => (long)t).ToList();
        var tokens = new List<long>(start);
        tokens.AddRange(tokenizer.Encode(prompt).Select(t => (long)t));
        var limit = model.Config.MaxPositions;
        if (tokens.Count >= limit - 1)
        {
            tokens = [.. start, .. tokens.Skip(tokens.Count - (limit / 2))];
        }

        var rng = new Random(o.Seed);
        var generated = new List<int>();
        using var cache = o.UseCache ? new KvCache(model.Config.Layers) : null;
        using (no_grad())
        {
            var next = tokens.ToArray();
            for (var i = 0; i < o.MaxNewTokens && tokens.Count < limit; i++)
            {
                using var scope = NewDisposeScope();
                var input = cache is null ? tokens.ToArray() : next;
                var logits = model.Forward(tensor(input, [1, input.Length], device: device), cache)[0, -1].to(ScalarType.Float32);
                var token = Sample(logits, o.Temperature, o.TopP, rng);
                if (token == tokenizer.EosId && o.StopAtEos)
                {
                    break;
                }

                generated.Add(token);
                tokens.Add(token);
                next = [token];
            }
        }

        model.train();
        return (tokenizer.Decode(generated), generated.Count);
    }

    /// <summary>One token from a row of logits: greedy at temperature 0, otherwise nucleus sampling.</summary>
    public static int Sample(Tensor logits, double temperature, double topP, Random rng)
    {
        if (temperature <= 0)
        {
            return (int)logits.argmax().item<long>();
        }

        var probs = nn.functional.softmax(logits / temperature, 0);
        var (sorted, indices) = probs.sort(descending: true);
        var p = sorted.data<float>().ToArray();
        var ids = indices.data<long>().ToArray();
        var keep = 0;
        double mass = 0;
        while (keep < p.Length && (keep == 0 || mass < topP))
        {
            mass += p[keep++];
        }

        var draw = rng.NextDouble() * mass;
        for (var i = 0; i < keep; i++)
        {
            draw -= p[i];
            if (draw <= 0)
            {
                return (int)ids[i];
            }
        }

        return (int)ids[keep - 1];
    }
}
