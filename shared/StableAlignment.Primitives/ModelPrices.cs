namespace StableAlignment.Primitives;

/// <summary>Price in a currency of your choice per 1,000 prompt and completion tokens.</summary>
public sealed class ModelPrice
{
    public double PromptPer1K { get; set; }

    public double CompletionPer1K { get; set; }

    public double Cost(long promptTokens, long completionTokens) => (promptTokens * PromptPer1K / 1000) + (completionTokens * CompletionPer1K / 1000);
}

/// <summary>The <c>Models:Prices</c> table alone, for services that count cost but call no model.</summary>
public sealed class ModelPrices(IReadOnlyDictionary<string, ModelPrice> prices)
{
    /// <summary>Where the table is configured.</summary>
    public const string Section = "Models:Prices";

    /// <summary>The cost of the tokens at the model's price; null when the model has none.</summary>
    public double? Cost(string model, long promptTokens, long completionTokens) =>
        prices.TryGetValue(model, out var price) ? price.Cost(promptTokens, completionTokens) : null;
}
