namespace StableAlignment.DatasetBuilder;

/// <summary>Why a candidate sample was not made.</summary>
public enum DropReason
{
    InvalidRating,
    EmptyText,
    RealignmentCondition,
}
