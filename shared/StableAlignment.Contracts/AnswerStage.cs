namespace StableAlignment.Contracts;

/// <summary>Which answer of an interaction is rated.</summary>
public enum AnswerStage
{
    Draft,
    Revision,
}
