namespace StableAlignment.DatasetBuilder;

public enum SampleType
{
    Imitation,
    SelfCritic,
    Realignment,
}
