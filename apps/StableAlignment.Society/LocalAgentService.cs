using Microsoft.SemanticKernel;

namespace StableAlignment.Society;

/// <summary>
/// A social agent played by a local checkpoint: the prompt is sampled from at the role's temperature. The sampling seed
/// is a hash of the prompt, not a call counter, so the reply does not depend on the order in which concurrent
/// interactions reach the model: the same run gives the same society every time.
/// </summary>
public sealed class LocalAgentService(LlamaForCausalLM model, ITokenizer tokenizer, int maxNewTokens) : LocalChatService
{
    private readonly Lock _gate = new();

    protected override string Reply(string prompt, PromptExecutionSettings? settings)
    {
        var temperature = settings?.ExtensionData?.TryGetValue("temperature", out var t) == true ? Convert.ToDouble(t, System.Globalization.CultureInfo.InvariantCulture) : 1.0;
        lock (_gate)
        {
            var options = new GenerationOptions(Temperature: temperature, TopP: 0.95, MaxNewTokens: maxNewTokens, Seed: StableSeed(prompt));
            return Generation.Generate(model, tokenizer, prompt, options).Text.Trim();
        }
    }

    private static int StableSeed(string prompt) => World.StableHash(prompt) & int.MaxValue;
}
