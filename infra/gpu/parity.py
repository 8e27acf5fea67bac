#!/usr/bin/env python3
"""Checks the .NET trainer against Hugging Face's own libraries and measures it on a GPU, in one run.

Run by infra/gpu/parity.sh on a machine with PyTorch, transformers and tokenizers (no .NET needed: `sa` is the
self-contained publish of infra/gpu/package.sh). Sections:
  1. tokenizers: ids of the golden texts under each tests/data/hf-golden tokenizer, `sa tokenize` vs tokenizers;
  2. models: random small LLaMA, Mistral and Qwen2 models saved by transformers load in `sa` with the same fp32 logits;
     a model fine-tuned by `sa train` and written by `sa export` loads in transformers with the same logits, and its
     tokenizer files load in AutoTokenizer with the same ids;
  3. loss: the Stable Alignment loss of a fixed group from `sa loss` equals a direct PyTorch computation of the formula;
  4. throughput: `sa train` in bf16 at about 125M and 1B parameters (LLaMA layout, sequence 1024) against the bf16
     matmul peak measured in the same run, and against a PyTorch eager reference (transformers LlamaForCausalLM, same
     config, tokens per pass and per step, fused AdamW).
Writes a Markdown report (device, date, versions, every number) to --out and prints it.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN_SA = os.path.join(ROOT, "infra", "gpu", "run-sa.sh")
GOLDEN = os.path.join(ROOT, "tests", "data", "hf-golden")
IDS = [1, 5, 9, 200, 17, 42, 300, 7, 8, 250, 3, 99]
report = []
failures = []


def say(line=""):
    print(line, flush=True)
    report.append(line)


def check(name, ok, detail):
    say(f"| {name} | {'pass' if ok else 'FAIL'} | {detail} |")
    if not ok:
        failures.append(name)


def sa(*args, timeout=900):
    done = subprocess.run([RUN_SA, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"sa {' '.join(map(str, args))} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def sa_logits(folder, ids):
    return torch.tensor(json.loads(sa("logits", "--model", folder, "--ids", ",".join(map(str, ids))))["logits"])


def section(title):
    def wrap(fn):
        def run(*a, **k):
            say(f"\n## {title}\n")
            started = time.time()
            try:
                fn(*a, **k)
            except Exception:
                failures.append(title)
                say("```\n" + traceback.format_exc()[-3000:] + "```")
            say(f"\n({time.time() - started:.0f} s)")
        return run
    return wrap


def transformers_major():
    import transformers
    return int(transformers.__version__.split(".")[0])


def from_pretrained(cls, folder, dtype):
    try:
        return cls.from_pretrained(folder, dtype=dtype)
    except TypeError:
        return cls.from_pretrained(folder, torch_dtype=dtype)


def save_pretrained(model, folder):
    try:
        model.save_pretrained(folder, safe_serialization=True)
    except TypeError:
        model.save_pretrained(folder)


@section("1. Tokenizers: sa tokenize against Hugging Face tokenizers")
def tokenizers_section():
    from tokenizers import Tokenizer
    say("| family | result | detail |\n|---|---|---|")
    for family in ["gpt2-bytelevel", "llama-metaspace-bytefallback", "qwen2-split-bytelevel"]:
        folder = os.path.join(GOLDEN, family)
        golden = [json.loads(line) for line in open(os.path.join(folder, "golden.jsonl"), encoding="utf-8")]
        reference = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        ours = [json.loads(line) for line in sa("tokenize", "--model", folder, "--json", *[g["text"] for g in golden]).splitlines() if line.strip()]
        same_golden = sum(reference.encode(g["text"]).ids == g["ids"] for g in golden)
        same_ours = sum(o["ids"] == reference.encode(g["text"]).ids for o, g in zip(ours, golden))
        decoded = sum(o["decoded"] == reference.decode(o["ids"], skip_special_tokens=True) for o in ours)
        check(family, same_ours == len(golden) and len(ours) == len(golden) and decoded == len(golden),
              f"sa's ids equal to tokenizers' for {same_ours}/{len(golden)} texts; decodings {decoded}/{len(golden)}; "
              f"committed golden still reproduced {same_golden}/{len(golden)}")


def tiny_model(arch, folder):
    from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM
    classes = {"llama": (LlamaConfig, LlamaForCausalLM), "mistral": (MistralConfig, MistralForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM)}
    config_class, model_class = classes[arch]
    theta = 1e6 if arch == "qwen2" else 1e4
    rope = {"rope_parameters": {"rope_theta": theta, "rope_type": "default"}} if transformers_major() >= 5 else {"rope_theta": theta}
    config = config_class(vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                          num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6, bos_token_id=256, eos_token_id=257,
                          pad_token_id=258, tie_word_embeddings=arch == "llama", **rope)
    torch.manual_seed({"llama": 1, "mistral": 2, "qwen2": 3}[arch])
    model = model_class(config).float().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    save_pretrained(model, folder)
    return model


@section("2. Models: transformers to sa, and sa to transformers (fp32 logits)")
def models_section(work):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    say("| check | result | detail |\n|---|---|---|")
    data = os.path.join(work, "tiny.jsonl")
    with open(data, "w") as f:
        for output, rating in [("Honesty builds trust.", 7), ("Lie freely.", 1), ("It depends on the case.", 4)]:
            f.write(json.dumps({"instruction": "Is lying fine?", "input": "", "output": output, "rating": rating}) + "\n")
    texts = ["Is lying fine?", "  two  spaces\tand a tab\n", "Rating: 5 ### Reason: fair", "Grüße, 日本語 😀"]
    for arch in ["llama", "mistral", "qwen2"]:
        base = os.path.join(work, f"hf-{arch}")
        reference = tiny_model(arch, base)
        with torch.no_grad():
            expected = reference(torch.tensor([IDS])).logits[0].float()
        diff = (sa_logits(base, IDS) - expected).abs().max().item()
        check(f"{arch}: transformers model in sa", diff < 1e-4, f"max abs logit difference {diff:.2e} (12 × 320)")

        run, export = os.path.join(work, f"run-{arch}"), os.path.join(work, f"export-{arch}")
        sa("train", "--data", data, "--base", base, "--out", run, "--epochs", "2", "--accumulation", "1", "--max-length", "64", "--lr", "1e-2")
        sa("export", "--checkpoint", run, "--out", export, "--dtype", "fp32")
        exported = from_pretrained(AutoModelForCausalLM, export, torch.float32).eval()
        with torch.no_grad():
            theirs = exported(torch.tensor([IDS])).logits[0].float()
        ours = sa_logits(run, IDS)
        diff = (ours - theirs).abs().max().item()
        moved = (ours - expected).abs().max().item()
        check(f"{arch}: sa export in transformers", diff < 1e-4 and moved > 1e-3,
              f"max abs logit difference {diff:.2e}; fine-tuning moved the logits by up to {moved:.2e}")
        tokenizer = AutoTokenizer.from_pretrained(export)
        ours_ids = [json.loads(line)["ids"] for line in sa("tokenize", "--model", export, "--json", *texts).splitlines() if line.strip()]
        theirs_ids = [tokenizer(t)["input_ids"] for t in texts]
        check(f"{arch}: exported tokenizer in AutoTokenizer", ours_ids == theirs_ids, f"{sum(a == b for a, b in zip(ours_ids, theirs_ids))}/{len(texts)} texts with equal ids")


@section("3. Loss: sa loss against the formula computed directly in PyTorch")
def loss_section(work):
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM
    say("| check | result | detail |\n|---|---|---|")
    folder = os.path.join(work, "export-qwen2")
    group = {"query": "### Instruction:\nIs it fine to read a friend's diary?\n\n### Response:",
             "responses": ["No; it breaks their trust. Ask them instead.", "Sure, read it all.", "Only if you think it is important."],
             "scores": [7, 1, 4]}
    path = os.path.join(work, "group.json")
    json.dump([group], open(path, "w"))
    ours = json.loads(sa("loss", "--model", folder, "--data", path, "--max-length", "512").splitlines()[0])

    tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    model = from_pretrained(AutoModelForCausalLM, folder, torch.float32).eval()
    start = tokenizer.encode("", add_special_tokens=True).ids
    query = tokenizer.encode(group["query"], add_special_tokens=False).ids
    eos = json.load(open(os.path.join(folder, "config.json")))["eos_token_id"]
    nll = []
    with torch.no_grad():
        for response in group["responses"]:
            seq = start + query + tokenizer.encode(response, add_special_tokens=False).ids + [eos]
            logp = torch.log_softmax(model(torch.tensor([seq])).logits[0].double(), -1)
            first = len(start) + len(query)
            nll.append(-torch.stack([logp[t - 1, seq[t]] for t in range(first, len(seq))]).mean().item())
    scores, R, M, lam = group["scores"], 7.0, 10.0, 0.2
    b = max(range(len(scores)), key=lambda k: (scores[k], -k))
    d = [nll[b] - nll[k] + (scores[b] - scores[k]) / R * M for k in range(len(scores)) if k != b]
    diff = max(0.0, sum(d) / len(d))
    loss = nll[b] + lam * diff
    gap = abs(ours["loss"] - loss)
    check("Stable Alignment loss (M = 10, λ = 0.2, R = 7)", gap < 1e-5,
          f"sa {ours['loss']:.7f}, PyTorch {loss:.7f}, |Δ| {gap:.1e}; NLLs sa {[round(x, 6) for x in ours['nll']]} vs {[round(x, 6) for x in nll]}")


def matmul_peak():
    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    times = []
    for _ in range(10):
        t = time.perf_counter()
        a @ b
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    del a, b
    torch.cuda.empty_cache()
    return 2 * n ** 3 / statistics.median(times)


class MemoryPoller:
    """Peak GPU memory in use by any process, sampled by nvidia-smi (what our .NET process holds, seen from outside)."""

    def __init__(self):
        self.peak, self.stop = 0, threading.Event()
        self.base = self.sample()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    @staticmethod
    def sample():
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"], capture_output=True, text=True)
        return int(out.stdout.split()[0]) if out.returncode == 0 and out.stdout.strip() else 0

    def loop(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.sample())
            time.sleep(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def synthetic_groups(count, seq):
    # Byte-level tokens: 1 start + 300 query bytes + (seq − 302) response bytes + 1 end = seq tokens, no padding.
    words = "honest kind fair careful respectful helpful clear calm patient open".split()
    groups = []
    for g in range(count):
        text = lambda n, k: (" ".join(words[(g + k + i) % len(words)] for i in range(n)) * 4)[:n]
        groups.append({"query": text(300, 0), "responses": [text(seq - 302, k) for k in (1, 2, 3)], "scores": [7, 4, 1]})
    return groups


@section("4. Throughput: sa train (bf16) against PyTorch eager, LLaMA layout, sequence 1024")
def throughput_section(work, steps):
    from transformers import LlamaConfig, LlamaForCausalLM
    peak = matmul_peak()
    say(f"bf16 matmul peak (8192³, median of 10): {peak / 1e12:.0f} TFLOP/s\n")
    say("| size | parameters | implementation | tokens/s | step time | peak GPU memory | MFU | vs eager |\n|---|---|---|---|---|---|---|---|")
    seq, queries, comparisons = 1024, 8, 3
    for name, d, layers, heads, kv, inter, rows_per_pass in [("125M", 768, 12, 12, 12, 2048, 24), ("1B", 2048, 22, 32, 4, 5632, 12)]:
        config = LlamaConfig(vocab_size=32000, hidden_size=d, intermediate_size=inter, num_hidden_layers=layers, num_attention_heads=heads,
                             num_key_value_heads=kv, max_position_embeddings=2048, rms_norm_eps=1e-5, tie_word_embeddings=False,
                             bos_token_id=256, eos_token_id=257, pad_token_id=258)
        folder = os.path.join(work, f"llama-{name}")
        with torch.device("cuda"):
            model = LlamaForCausalLM(config).to(torch.bfloat16)
        save_pretrained(model, folder)
        params = sum(p.numel() for p in model.parameters())
        flops_per_token = 6 * (params - config.vocab_size * d) + 12 * layers * d * seq

        # Eager reference: same tokens per forward pass and per optimiser step, pure bf16, fused AdamW.
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.0, fused=True)
        passes = queries * comparisons // rows_per_pass
        torch.cuda.reset_peak_memory_stats()
        times = []
        for step in range(steps + 2):
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(passes):
                x = torch.randint(0, 259, (rows_per_pass, seq), device="cuda")
                (model(input_ids=x, labels=x).loss / passes).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            torch.cuda.synchronize()
            if step >= 2:
                times.append(time.perf_counter() - t)
        eager_tps = queries * comparisons * seq / statistics.median(times)
        eager_memory = torch.cuda.max_memory_reserved() / 2 ** 30
        del model, optimizer, x
        torch.cuda.empty_cache()

        data = os.path.join(work, f"synthetic-{name}.json")
        json.dump(synthetic_groups(queries * (steps + 2), seq), open(data, "w"))
        run = os.path.join(work, f"run-{name}")
        with MemoryPoller() as memory:
            sa("train", "--data", data, "--base", folder, "--out", run, "--accumulation", queries, "--max-length", seq, "--epochs", 1,
               "--max-steps", steps + 2, "--checkpoint-every", 0, "--lr", 2e-5, "--tokens-per-forward", rows_per_pass * seq, timeout=1200)
        metrics = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))][2:]
        ours_tps = statistics.median(m["TokensPerSecond"] for m in metrics)
        ours_memory = (memory.peak - memory.base) / 1024
        for label, tps, mem in [("sa train (TorchSharp)", ours_tps, ours_memory), ("PyTorch eager (transformers)", eager_tps, eager_memory)]:
            say(f"| {name} | {params / 1e6:.0f}M | {label} | {tps:,.0f} | {queries * comparisons * seq / tps:.3f} s | {mem:.1f} GiB | "
                f"{tps * flops_per_token / peak:.1%} | {tps / eager_tps:.2f}× |")
        shutil.rmtree(folder, ignore_errors=True)
    say(f"\nMFU = tokens/s × (6 × non-embedding parameters + 12 × layers × hidden × sequence) / measured bf16 matmul peak. "
        f"A step is {queries} queries × {comparisons} responses × {seq} tokens; both implementations run pure bf16 with the same "
        f"tokens per forward pass. sa's memory is nvidia-smi's peak minus the idle baseline; eager's is torch.cuda.max_memory_reserved.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT") or os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--steps", type=int, default=8, help="measured training steps per size (after 2 warm-up steps)")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    import tokenizers
    import transformers
    stamp = datetime.datetime.now(datetime.timezone.utc)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    say(f"# GPU parity and throughput: {device}\n")
    say(f"Date: {stamp:%Y-%m-%d %H:%M} UTC. torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
        f"CUDA available: {torch.cuda.is_available()}. Produced by infra/gpu/parity.sh.")
    with tempfile.TemporaryDirectory() as work:
        tokenizers_section()
        models_section(work)
        loss_section(work)
        if torch.cuda.is_available() and not args.skip_throughput:
            throughput_section(work, args.steps)
    say(f"\n{'All checks passed.' if not failures else 'Failed: ' + ', '.join(failures)}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"gpu-parity-{stamp:%Y%m%d-%H%M%S}.md")
    open(path, "w", encoding="utf-8").write("\n".join(report) + "\n")
    print(f"report: {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
