using StableAlignment.Learning;

namespace StableAlignment.Evaluator;

public sealed class LocalAnswerer(LlamaForCausalLM model, ITokenizer tokenizer, GenerationOptions options, string id) : IAnswerer
{
    private readonly Lock _gate = new();

    public string Id => id;

    public Task<(string Text, int Tokens)> AnswerAsync(string question, int sample, CancellationToken ct)
    {
        lock (_gate)
        {
            var prompt = $"### Instruction:\n{question}\n\n### Response:";
            return Task.FromResult(Generation.Generate(model, tokenizer, prompt, options with { Seed = options.Seed + sample }));
        }
    }
}
