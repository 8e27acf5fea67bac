using StableAlignment.Learning;

namespace StableAlignment.Evaluator;

/// <summary>
/// One kind of benchmark (<c>bigbench</c>, <c>heldout</c>, <c>judge</c>, …): how its file is read and how a model is
/// scored on it. A <c>kind:path</c> spec is parsed once (<see cref="BenchmarkSpec.Parse"/>) into its kind's
/// implementation, which every caller then uses: the preflight, the runner, the self-judge check.
/// </summary>
public interface IBenchmark
{
    /// <summary>The kind's name in a spec.</summary>
    string Kind { get; }

    /// <summary>Whether scoring needs the Judge role's model.</summary>
    bool NeedsJudge => false;

    /// <summary>Reads the file and counts its items: a missing or malformed file fails here, naming it.</summary>
    int CountItems(string path);

    /// <summary>Scores <paramref name="run"/>'s model into its scores; returns the judge model used, if any.</summary>
    Task<string?> ScoreAsync(EvaluationRunner runner, BenchmarkRun run, CancellationToken ct);
}

/// <summary>One benchmark of a call, with what it may score: a local model (likelihood kinds), answerers (judged kinds).</summary>
public sealed record BenchmarkRun(
    BenchmarkSpec Spec, string Name, Dictionary<string, BenchmarkScore> Scores, LlamaForCausalLM? Model, ITokenizer? Tokenizer,
    IAnswerer? Answerer, IAnswerer? Baseline, string OutDir)
{
    /// <summary>The local model and tokenizer, which likelihood kinds need.</summary>
    public (LlamaForCausalLM Model, ITokenizer Tokenizer) Local() => Model is { } m && Tokenizer is { } t
        ? (m, t) : throw new ArgumentException($"{Spec} scores likelihoods and needs a local checkpoint (--checkpoint).");

    /// <summary>The model that answers, which judged kinds need.</summary>
    public IAnswerer Answering() => Answerer ?? throw new ArgumentException($"{Spec} needs a model to answer.");
}
