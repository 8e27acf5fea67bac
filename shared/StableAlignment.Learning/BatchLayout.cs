using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>
/// Positions (batch, time) of the tokens being fed and the boolean attention mask (batch, 1, time, keys) for a batch of
/// left-padded sequences: each row sees its own real tokens only, and a pad position sees itself (so no row of the
/// softmax is empty).
/// </summary>
public sealed record BatchLayout(Tensor Positions, Tensor Mask);
