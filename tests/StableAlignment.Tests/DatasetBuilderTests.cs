using StableAlignment.Data;
using StableAlignment.DatasetBuilder;

namespace StableAlignment.Tests;

public sealed class DatasetBuilderTests
{
    private static AlignmentRecord Record(string question, string draft, string revised, int? before, int? after, params (string Reason, int? Score)[] peers) =>
        new(0, "good", 0, question, draft, [.. peers.Select((p, i) => new PeerNote(i + 1, p.Reason, p.Score))], revised, before, after, "m");

    private static async Task<List<SampleGroup>> Groups(IEnumerable<AlignmentRecord> records, BuildOptions options, DatasetEngine? engine = null)
    {
        engine ??= new DatasetEngine(options, TestConfiguration.TempPath("ds-work"));
        var list = new List<SampleGroup>();
        await foreach (var g in engine.BuildAsync(records.ToAsyncEnumerable()))
        {
            list.Add(g);
        }

        return list;
    }

    [Fact]
    public void Each_sample_type_has_the_exact_text_of_the_short_alpaca_template()
    {
        var samples = SampleBuilder.From(Record("Q?", "draft", "better", 3, 6, ("too blunt", 4))).ToList();
        Assert.Equal(4, samples.Count);

        var imitation = samples.Where(s => s.Type == SampleType.Imitation).ToList();
        Assert.Equal([("draft", 3), ("better", 6)], imitation.Select(s => (s.Output, s.Rating)));
        Assert.Equal("### Instruction:\nQ?\n\n### Response:", imitation[0].Query);

        var critic = samples.Single(s => s.Type == SampleType.SelfCritic);
        Assert.Equal("### Instruction:\nQ?\n\nComment on the response in the input in terms of how well it aligns with shared social values.\n\n### Input:\ndraft\n\n### Response:", critic.Query);
        Assert.Equal(("too blunt", 4), (critic.Output, critic.Rating));

        var realign = samples.Single(s => s.Type == SampleType.Realignment);
        Assert.Equal("### Instruction:\nQ?\n\nResponse: draft\n\nFirst comment on the response above in terms of how well it aligns with shared social values, then revise it to better align with shared social values.\n\n### Response:", realign.Query);
        Assert.Equal(("too blunt Here is the revised response: better", 6), (realign.Output, realign.Rating));
    }

    [Theory]
    [InlineData(3, 6, 1)]
    [InlineData(3, 5, 1)]
    [InlineData(4, 4, 0)]
    [InlineData(2, 4, 0)]
    [InlineData(6, 5, 0)]
    [InlineData(null, 7, 0)]
    [InlineData(3, null, 0)]
    public void Realignment_needs_the_rating_after_above_the_rating_before_and_above_four(int? before, int? after, int expected)
    {
        var samples = SampleBuilder.From(Record("Q?", "d", "r", before, after, ("reason", 5))).ToList();
        Assert.Equal(expected, samples.Count(s => s.Type == SampleType.Realignment));
    }

    [Fact]
    public void Invalid_ratings_make_no_sample_and_are_counted_as_dropped()
    {
        var dropped = new List<(SampleType, DropReason)>();
        var samples = SampleBuilder.From(Record("Q?", "d", "r", null, 6, ("unrated", null), ("fine", 5)), (t, r) => dropped.Add((t, r))).ToList();
        Assert.Equal(["r"], samples.Where(s => s.Type == SampleType.Imitation).Select(s => s.Output));
        Assert.Equal(["fine"], samples.Where(s => s.Type == SampleType.SelfCritic).Select(s => s.Output));
        Assert.DoesNotContain(samples, s => s.Type == SampleType.Realignment);
        Assert.Contains((SampleType.Imitation, DropReason.InvalidRating), dropped);
        Assert.Contains((SampleType.SelfCritic, DropReason.InvalidRating), dropped);
        Assert.Equal(2, dropped.Count(d => d.Item1 == SampleType.Realignment));
    }

    [Fact]
    public async Task Duplicates_are_dropped_and_samples_grouped_by_prompt()
    {
        var r1 = Record("Q?", "draft one", "revised one", 3, 6, ("a", 5), ("b", 7));
        var r2 = Record("Q?", "draft two", "revised one", 4, 4, ("c", 2));
        var engine = new DatasetEngine(new BuildOptions(null), TestConfiguration.TempPath("ds-work"));
        var groups = await Groups([r1, r2, r1], new BuildOptions(null), engine);

        var imitation = groups.Single(g => g.Query == "### Instruction:\nQ?\n\n### Response:");
        Assert.Equal(["draft one", "draft two", "revised one"], imitation.Responses.Order());
        Assert.Equal(3, imitation.Scores.Count);
        Assert.Equal(2, groups.Single(g => g.Query.Contains("draft one") && g.Samples[0].Type == SampleType.SelfCritic).Responses.Count);
        Assert.Equal(4, groups.Count);
        Assert.Equal(3, engine.Stats.DroppedDuplicates["imitation"]);
        Assert.Equal(2, engine.Stats.DroppedDuplicates["self-critic"]);
        Assert.Equal(2, engine.Stats.DroppedDuplicates["realignment"]);
    }

    [Fact]
    public async Task A_response_appears_once_per_sample_type_across_all_prompts_whatever_the_record_order()
    {
        // Two questions drafted with the same text, and the same critique given to both: the original keeps each response
        // once per sample type over the whole dataset.
        var records = new[]
        {
            Record("Is lying fine?", "It depends.", "Be honest.", 3, 6, ("Too vague.", 3)),
            Record("Is cheating fine?", "It depends.", "Be fair.", 3, 6, ("Too vague.", 3)),
        };
        async Task<(List<Sample> Kept, DatasetEngine Engine)> Build(IEnumerable<AlignmentRecord> rs)
        {
            var engine = new DatasetEngine(new BuildOptions(null), TestConfiguration.TempPath("ds-work"));
            return ((await Groups(rs, new BuildOptions(null), engine)).SelectMany(g => g.Samples).ToList(), engine);
        }

        var (kept, engine) = await Build(records);
        Assert.Single(kept, s => s.Type == SampleType.Imitation && s.Output == "It depends.");
        Assert.Single(kept, s => s.Type == SampleType.SelfCritic);
        Assert.Equal(2, kept.Count(s => s.Type == SampleType.Realignment));
        Assert.Equal(1, engine.Stats.DroppedDuplicates["imitation"]);
        Assert.Equal(1, engine.Stats.DroppedDuplicates["self-critic"]);
        var (reversed, _) = await Build(records.Reverse());
        Assert.Equal(kept.Select(s => s.Query).Order(), reversed.Select(s => s.Query).Order());
    }

    [Theory]
    [InlineData("5:1:1", 20, 4, 4)]
    [InlineData("1:1:1", 20, 20, 20)]
    [InlineData("1:5:0", 20, 40, 0)]
    [InlineData("2:1:3", 20, 8, 28)] // targets 10 and 30: whole groups of 4 land within one group of them
    public async Task Sampling_keeps_whole_groups_relative_to_imitation_capped_by_what_exists(string ratios, int imitation, int critic, int realign)
    {
        // Each record: one self-critic group and one realignment group of 4 samples (one per peer).
        var records = Enumerable.Range(0, 10).Select(i => Record($"Q{i}?", $"d{i}", $"r{i}", 2, 6, ($"w{i}", 3), ($"x{i}", 4), ($"y{i}", 5), ($"z{i}", 6)));
        var engine = new DatasetEngine(new BuildOptions(BuildOptions.ParseRatios(ratios), Seed: 3), TestConfiguration.TempPath("ds-work"));
        var groups = await Groups(records, engine: engine, options: null!);
        Assert.All(groups.Where(g => g.Samples[0].Type != SampleType.Imitation), g => Assert.Equal(4, g.Samples.Count)); // never split
        var samples = groups.SelectMany(g => g.Samples).ToList();
        Assert.Equal(imitation, samples.Count(s => s.Type == SampleType.Imitation));
        Assert.Equal(critic, samples.Count(s => s.Type == SampleType.SelfCritic));
        Assert.Equal(realign, samples.Count(s => s.Type == SampleType.Realignment));
        Assert.Equal(40 - critic, engine.Stats.SampledOut["self-critic"]);
    }

    [Fact]
    public async Task Sampling_depends_on_the_seed_and_not_on_the_order_of_records()
    {
        var records = Enumerable.Range(0, 20).Select(i => Record($"Q{i}?", $"d{i}", $"r{i}", 2, 6, ($"w{i}", 3), ($"x{i}", 4))).ToList();
        async Task<string[]> Kept(IEnumerable<AlignmentRecord> rs, int seed) =>
            [.. (await Groups(rs, new BuildOptions(BuildOptions.PaperRatios, seed))).SelectMany(g => g.Samples).Where(s => s.Type == SampleType.SelfCritic).Select(s => s.Instruction).Order()];
        Assert.Equal(await Kept(records, 1), await Kept(Enumerable.Reverse(records), 1));
        Assert.NotEqual(await Kept(records, 1), await Kept(records, 2));
    }

    [Fact]
    public async Task Held_out_split_goes_by_question_and_never_splits_a_prompt()
    {
        var records = Enumerable.Range(0, 60).SelectMany(i => new[]
        {
            Record($"Q{i % 30}?", $"d{i}", $"r{i}", 2, 6, ($"w{i}", 3)),
        });
        var groups = await Groups(records, new BuildOptions(null, Seed: 4, Holdout: 0.3));
        Assert.Contains(groups, g => g.Heldout);
        Assert.Contains(groups, g => !g.Heldout);
        var byQuestion = groups.GroupBy(g => g.Samples[0].Instruction.Split('\n')[0]);
        Assert.All(byQuestion, q => Assert.Single(q.Select(g => g.Heldout).Distinct()));
    }
}

public sealed class DatasetRebuildTests
{
    [Fact]
    public async Task Same_source_and_parameters_give_the_same_id_and_the_same_files()
    {
        var records = Enumerable.Range(0, 30).Select(i => new AlignmentRecord(
            i % 4, "good", i / 4, $"Q{i % 7}?", $"d{i}", [new PeerNote(1, $"p{i}", 1 + (i % 7)), new PeerNote(2, "same", 5)], $"r{i}", 1 + (i % 5), 1 + ((i + 3) % 7), "m")).ToList();
        var options = new BuildOptions(BuildOptions.PaperRatios, Seed: 9, Holdout: 0.2);
        var a = TestConfiguration.TempPath("ds-a");
        var b = TestConfiguration.TempPath("ds-b");
        var first = await DatasetBuild.RunAsync(records.ToAsyncEnumerable(), options, [DatasetFormat.Authors, DatasetFormat.Trl], a, "run:x");
        var second = await DatasetBuild.RunAsync(records.ToAsyncEnumerable(), options, [DatasetFormat.Authors, DatasetFormat.Trl], b, "run:x");
        Assert.Equal(first.DatasetId, second.DatasetId);
        Assert.NotEqual(first.DatasetId, DatasetBuild.IdFor("run:x", options with { Seed = 10 }));
        Assert.Equal(first.Files, second.Files);
        foreach (var file in first.Files)
        {
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(a, file)), await File.ReadAllBytesAsync(Path.Combine(b, file)));
        }
    }
}
