using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace StableAlignment.Learning;

/// <summary>
/// A LLaMA-style causal language model (LLaMA, Mistral and Qwen2 layouts): RMSNorm, rotary embeddings, SwiGLU, causal
/// attention through scaled dot-product attention. Parameter names are Hugging Face's
/// (<c>model.layers.0.self_attn.q_proj.weight</c>, …), so weights map by name in both directions.
/// </summary>
public sealed class LlamaForCausalLM : Module<Tensor, Tensor>
{
    private readonly LlamaBody model;
    /// <summary>Absent when the embeddings are tied: the output projection is then the embedding matrix itself.</summary>
    private readonly Linear? lm_head;

    private static readonly Lock InitLock = new();

    /// <param name="seed">Seed of the initial weights, for reproducible runs. Construction and initialisation take a
    /// process-wide lock, so that models built at the same time on other threads cannot draw from the global generator
    /// in between.</param>
    /// <param name="lora">LoRA adapters on the targeted projections, the rest frozen (<see cref="Lora"/>). The base weights
    /// are drawn first, so a seed gives the same base with or without adapters.</param>
    public LlamaForCausalLM(LlamaConfig config, long? seed = null, LoraOptions? lora = null) : base("LlamaForCausalLM")
    {
        Config = config;
        LoraOptions = lora;

        // Built and initialised under a process-wide lock: layer constructors draw from the global generator, so a
        // model built on another thread between this one's seed and its draws would change its weights.
        lock (InitLock)
        {
            model = new LlamaBody(config, lora);
            lm_head = config.TieEmbeddings ? null : Linear(config.HiddenSize, config.VocabSize, hasBias: false);
            RegisterComponents();
            if (seed is { } s)
            {
                random.manual_seed(s);
            }

            // The adapters draw from a generator of their own, after the base: a seed gives the same base with or without them.
            using var adapters = seed is { } own ? new Generator((ulong)own + 1, CPU) : null;
            using (no_grad())
            {
                foreach (var (name, p) in named_parameters().Where(p => !StableAlignment.Learning.Lora.IsAdapterParameter(p.name)))
                {
                    if (name.EndsWith(".bias", StringComparison.Ordinal))
                    {
                        init.zeros_(p);
                    }
                    else if (!name.EndsWith("norm.weight", StringComparison.Ordinal))
                    {
                        init.normal_(p, 0, 0.02);
                    }
                }

                // As PEFT: A as a linear layer's default (Kaiming-uniform with a = √5, that is U(±1/√fan_in)), B zero,
                // so the adapted model starts as the base.
                foreach (var (_, adapter) in StableAlignment.Learning.Lora.Adapters(this))
                {
                    var bound = 1 / Math.Sqrt(adapter.A.shape[1]);
                    init.uniform_(adapter.A, -bound, bound, adapters);
                    init.zeros_(adapter.B);
                }
            }
        }

        if (lora is not null)
        {
            StableAlignment.Learning.Lora.FreezeBase(this);
        }
    }

    public LlamaConfig Config { get; }

    /// <summary>Activation recomputation per decoder layer while training (<see cref="CheckpointedLayer"/>).</summary>
    public bool GradientCheckpointing
    {
        get => model.Checkpointing;
        set => model.Checkpointing = value;
    }

    /// <summary>The dropout generator of the adapters (<see cref="Lora.UseGenerator"/>).</summary>
    public Generator? Noise
    {
        get => model.Noise;
        set => model.Noise = value;
    }

    /// <summary>The adapters' settings when this model carries LoRA adapters; null for a plain model.</summary>
    public LoraOptions? LoraOptions { get; }

    /// <summary>Logits (batch, time, vocabulary) for token ids (batch, time).</summary>
    public override Tensor forward(Tensor tokens) => Forward(tokens, null);

    /// <summary>Logits for new tokens after those already in <paramref name="cache"/> (which receives their keys and values).</summary>
    public Tensor Forward(Tensor tokens, KvCache? cache, BatchLayout? batch = null)
    {
        using var scope = NewDisposeScope();
        var h = model.Forward(tokens, cache, batch);
        var logits = lm_head is null ? functional.linear(h, model.EmbeddingWeight) : lm_head.forward(h);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>The last hidden states (batch, time, hidden) after the final norm, before the output projection.</summary>
    public Tensor Hidden(Tensor tokens, BatchLayout? batch = null) => model.Forward(tokens, null, batch);
}
