namespace StableAlignment.DatasetBuilder;

/// <summary>What a build kept and dropped, and why; written beside the dataset and printed by <c>sa dataset stats</c>.</summary>
public sealed class DatasetStats
{
    public long Records { get; set; }

    /// <summary>Samples made, before de-duplication and sampling.</summary>
    public Dictionary<string, long> Candidates { get; set; } = Zero();

    public Dictionary<string, long> DroppedInvalidRating { get; set; } = Zero();

    public Dictionary<string, long> DroppedEmptyText { get; set; } = Zero();

    /// <summary>Realignment candidates whose observer rating did not rise above the draft's and above 4.</summary>
    public long DroppedRealignmentCondition { get; set; }

    /// <summary>Samples of the whole groups that sampling left out (after de-duplication).</summary>
    public Dictionary<string, long> SampledOut { get; set; } = Zero();

    public Dictionary<string, long> DroppedDuplicates { get; set; } = Zero();

    public Dictionary<string, long> KeptTrain { get; set; } = Zero();

    public Dictionary<string, long> KeptHeldout { get; set; } = Zero();

    public long GroupsTrain { get; set; }

    public long GroupsHeldout { get; set; }

    public long Kept(SampleType type) => KeptTrain[Sample.TypeName(type)] + KeptHeldout[Sample.TypeName(type)];

    private static Dictionary<string, long> Zero() =>
        Enum.GetValues<SampleType>().ToDictionary(Sample.TypeName, _ => 0L);
}
