namespace StableAlignment.Learning;

/// <summary>Token ids of one query + response sequence and the position where the response begins.</summary>
public sealed record EncodedSequence(int[] Tokens, int ResponseStart);
