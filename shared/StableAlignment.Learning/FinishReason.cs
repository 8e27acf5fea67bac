namespace StableAlignment.Learning;

/// <summary>Why a generated sequence ended.</summary>
public enum FinishReason
{
    /// <summary>The model produced its end-of-sequence token, or the text reached a stop string.</summary>
    Stop,

    /// <summary>The token budget (max tokens, or the model's context) ran out.</summary>
    Length,
}

/// <summary>The words the OpenAI API uses for <see cref="FinishReason"/> in <c>finish_reason</c>.</summary>
public static class FinishReasons
{
    public static string ToWire(this FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
