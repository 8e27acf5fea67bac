namespace StableAlignment.Contracts;

/// <summary>
/// A model call that failed after the model client's own retries (HTTP errors, timeouts, an open circuit). The HTTP
/// pipeline is the one layer that retries model calls: message consumers do not retry this exception again, so one
/// question never costs more than the pipeline's attempts.
/// </summary>
public sealed class ModelCallException(string model, Exception inner)
    : Exception($"The model {model} failed: {inner.GetType().Name}: {inner.Message}", inner)
{
    public string Model { get; } = model;
}
