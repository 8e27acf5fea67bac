using StableAlignment.Evaluator;

namespace StableAlignment.Tests;

public sealed class BenchmarkSpecTests
{
    [Theory]
    [InlineData("bigbench:data/x.json", "bigbench", typeof(ChoiceBenchmark), false)]
    [InlineData("TruthfulQA:tqa.csv", "truthfulqa", typeof(ChoiceBenchmark), false)]
    [InlineData("heldout:artifacts/datasets/ds-1", "heldout", typeof(HeldoutBenchmark), false)]
    [InlineData("judge:q.txt", "judge", typeof(JudgeBenchmark), true)]
    [InlineData("pairwise:q.txt", "pairwise", typeof(PairwiseBenchmark), true)]
    public void A_spec_is_parsed_once_into_its_kinds_benchmark(string spec, string kind, Type type, bool needsJudge)
    {
        var parsed = BenchmarkSpec.Parse(spec);
        Assert.Equal(kind, parsed.Kind);
        Assert.IsType(type, parsed.Benchmark);
        Assert.Equal(needsJudge, parsed.Benchmark.NeedsJudge);
        Assert.Equal(spec[(spec.IndexOf(':') + 1)..], parsed.Path);
    }

    [Fact]
    public void An_unknown_kind_or_a_spec_without_a_kind_is_refused_with_the_known_kinds()
    {
        var unknown = Assert.Throws<ArgumentException>(() => BenchmarkSpec.Parse("mmlu:x.json"));
        Assert.Contains("unknown kind 'mmlu'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("moral-stories", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("must read kind:path", Assert.Throws<ArgumentException>(() => BenchmarkSpec.Parse("x.json")).Message, StringComparison.Ordinal);
        Assert.Equal(8, BenchmarkSpec.Kinds.Count);
    }

    [Fact]
    public void Only_judged_kinds_make_a_suite_need_the_judge()
    {
        var models = new StableAlignment.Models.ModelsOptions
        {
            Default = new StableAlignment.Models.ModelEndpointOptions { Endpoint = "http://a/v1", Model = "same" },
        };
        Assert.Null(EvaluationOptions.SelfJudgeOf(["bigbench:x.json", "heldout:ds"], models));
        Assert.NotNull(EvaluationOptions.SelfJudgeOf(["bigbench:x.json", "judge:q.txt"], models));
    }
}
