#!/usr/bin/env python3
"""Writes the bad-input corpus: one folder per case and cases.json (see README.md). Deterministic: rerun after editing."""
import gzip, json, os, random, struct, shutil
root = os.path.dirname(os.path.abspath(__file__))
# Regenerates every case folder and cases.json (the README and this script stay).
for entry in os.listdir(root):
    if os.path.isdir(os.path.join(root, entry)):
        shutil.rmtree(os.path.join(root, entry))
cases = []
def gzz(data):
    return gzip.compress(data, mtime=0)
def put(rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
def case(id, channel, args, expect, files=None, about=""):
    for rel, data in (files or {}).items():
        put(f"{id}/{rel}", data)
    cases.append({"id": id, "channel": channel, "about": about, "args": args, "expect": expect})

SIM = ["simulate", "--grid", "2", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m"]
# ---- question feeds
def feed(id, name, data, expect, about):
    case(id, "feed", SIM + ["--questions", "{case}/" + name], [name] + expect, {name: data}, about)
good_lines = "".join(f"Is it fine to lie about thing {i}?\n" for i in range(2000))
gz = gzz(good_lines.encode())
feed("feed-empty", "feed.txt", b"", ["holds no question"], "zero-byte feed")
feed("feed-blank", "feed.txt", "\n   \n\t\n", ["holds no question"], "only blank lines")
feed("feed-invalid-utf8", "feed.txt", b"Is it fine?\nBad \xff\xfe bytes?\n", ["line 2", "UTF-8"], "invalid UTF-8 on line 2")
feed("feed-control-byte", "feed.txt", b"\x1f", ["line 1", "control character U+001F"], "the first byte of a gzip file alone: binary data, not a question")
feed("feed-truncated-gzip", "feed.txt.gz", gz[: len(gz) // 2], ["truncated", "--keep-partial"], "gzip cut in half (a broken download)")
feed("feed-corrupt-gzip", "feed.txt.gz", gz[:10] + bytes(random.Random(1).randrange(256) for _ in range(300)), ["gzip"], "gzip header followed by garbage")
feed("feed-gzip-empty", "feed.txt.gz", gzz(b""), ["holds no question"], "valid gzip of nothing")
feed("feed-json-broken", "feed.jsonl", '{"question": "Is it fine?"}\n{"question": "Unclosed\n', ["line 2", "not valid JSON"], "second JSON line cut off")
feed("feed-json-array", "feed.jsonl", '{"question": "Is it fine?"}\n[1, 2]\n', ["line 2", "JSON object"], "a JSON array instead of an object")
feed("feed-json-no-field", "feed.jsonl", '{"prompt": "Is it fine?"}\n', ["line 1", "question"], "no question/text/turns/chosen field")
feed("feed-question-number", "feed.jsonl", '{"question": 42}\n', ["line 1"], "question is a number")
feed("feed-too-long", "feed.txt", "Fine?\n" + "x" * 5000 + "?\n", ["line 2", "4000"], "a 5,000-character question")
feed("feed-hh-no-human", "feed.jsonl", json.dumps({"chosen": "\n\nAssistant: Hello."}) + "\n", ["line 1", "Human:"], "HH-RLHF dialogue without a Human turn")
feed("feed-binary", "feed.bin", bytes(random.Random(2).randrange(128, 256) for _ in range(512)), ["UTF-8"], "random high bytes")
case("feed-missing", "feed", SIM + ["--questions", "{case}/absent.txt"], ["absent.txt", "not found"], {"README": "the feed named does not exist\n"}, "missing file")

# ---- priors
def prior(id, name, data, expect, about):
    case(id, "prior", SIM + ["--prior", "{case}/" + name], [name] + expect, {name: data}, about)
good_prior = "".join(json.dumps({"question": f"Q{i}?", "response": f"A{i}.", "morality_label": "good" if i % 2 else "bad"}) + "\n" for i in range(400))
pgz = gzz(good_prior.encode())
prior("prior-empty", "prior.jsonl", b"", ["no entries"], "zero-byte prior (no seed memories)")
prior("prior-missing-label", "prior.jsonl", '{"question": "Q?", "response": "A."}\n', ["line 1", "morality_label"], "no label")
prior("prior-bad-label", "prior.jsonl", '{"question": "Q?", "response": "A.", "morality_label": "neutral"}\n', ["line 1", "neither good nor bad"], "unknown label")
prior("prior-not-json", "prior.jsonl", 'question,response,label\nQ?,A.,good\n', ["line 1", "not valid JSON"], "a CSV file")
prior("prior-truncated-gzip", "prior.jsonl.gz", pgz[: len(pgz) * 2 // 3], ["truncated"], "gzip cut short")
prior("prior-invalid-utf8", "prior.jsonl", b'{"question": "Q\xc3(?", "response": "A.", "morality_label": "good"}\n', ["line 1", "UTF-8"], "invalid UTF-8")
prior("prior-response-array", "prior.jsonl", '{"question": "Q?", "response": ["A."], "morality_label": "good"}\n', ["line 1", "response"], "response is a list")

# ---- export folders (dataset build --from-export)
DS = ["dataset", "build", "--from-export", "{case}", "--out", "{out}"]
rec = {"agent_id": 1, "label": "good", "iteration": 0, "question": "Is it fine?", "draft_answer": "No.", "target_id": [2], "feedback": ["ok"], "rating": [6], "revised_answer": "No, it is not.", "gen_moral_score_before": 4, "gen_moral_score_after": 6}
def export(id, content, expect, about, name="external_memory/agent_1.jsonl"):
    case(id, "export", DS, expect, {name: content} if content is not None else {"README": "an export folder without agent files\n"}, about)
export("export-no-agent-files", None, ["No agent_<id>.jsonl"], "no agent files")
export("export-not-array", json.dumps(rec), ["agent_1.jsonl", "record"], "an object instead of an array")
export("export-truncated", json.dumps([rec, rec])[:-40], ["agent_1.jsonl", "record"], "array cut mid-record")
export("export-element-number", json.dumps([rec, 5]), ["agent_1.jsonl", "record 1", "JSON object"], "a number among the records")
export("export-missing-question", json.dumps([{k: v for k, v in rec.items() if k != "question"}]), ["agent_1.jsonl", "record 0", "question"], "record without a question")
export("export-invalid-utf8", b'[{"agent_id": 1, "question": "Is \xff fine?"}]', ["agent_1.jsonl"], "invalid UTF-8 inside a record")
export("export-question-object", json.dumps([dict(rec, question={"text": "Is it fine?"})]), ["agent_1.jsonl", "record 0", "question"], "question is an object")
export("export-empty-file", b"", ["agent_1.jsonl"], "zero-byte agent file")

# ---- training data (sa train)
TR = ["train", "--data", "{case}/{file}", "--out", "{out}", "--max-steps", "1", "--threads", "1"]
def train(id, name, data, expect, about):
    case(id, "training-data", [a.replace("{file}", name) for a in TR], [name] + expect, {name: data}, about)
q = "### Instruction:\nIs it fine?\n\n### Response:"
train("train-empty", "train.json", b"", ["no group"], "zero-byte training file")
train("train-scores-strings", "train.json", json.dumps([{"query": q, "responses": ["a", "b"], "scores": ["high", "low"]}]), ["scores"], "scores are words")
train("train-scores-mismatch", "train.json", json.dumps([{"query": q, "responses": ["a", "b", "c"], "scores": [7, 1]}]), ["group 0"], "three responses, two scores")
train("train-rating-huge", "train.json", json.dumps([{"query": q, "responses": ["a", "b"], "scores": [1000, -1000]}]), ["1000"], "ratings of ±1000")
train("train-object", "train.json", json.dumps({"query": q}), ["train.json"], "an object, not a list of groups")
train("train-empty-array", "train.json", "[]", ["no group"], "no groups")
train("train-nan", "train.json", '[{"query": "q", "responses": ["a", "b"], "scores": [NaN, 1]}]', ["train.json"], "NaN is not JSON")
train("train-invalid-utf8", "train.json", b'[{"query": "q\xff", "responses": ["a", "b"], "scores": [7, 1]}]', ["train.json"], "invalid UTF-8")
train("train-alpaca-broken", "train.jsonl", '{"instruction": "Is it fine?", "output": "No.", "rating": 7}\n{"instruction": \n', ["line 2"], "second JSON line cut off")
train("train-alpaca-score-text", "train.jsonl", '{"instruction": "Is it fine?", "output": "No.", "rating": "seven"}\n', ["line 1"], "score is a word")
case("train-folder-without-data", "training-data", ["train", "--data", "{case}", "--out", "{out}", "--max-steps", "1"], ["train.authors.json"], {"README": "a dataset folder without its training file\n"}, "dataset folder without train.authors.json")

# ---- benchmark files (sa eval on a small trained checkpoint)
EV = ["eval", "--checkpoint", "{checkpoint}", "--out", "{out}", "--benchmarks"]
def bench(id, kind, name, data, expect, about):
    case(id, "benchmark", EV + [f"{kind}:{{case}}/{name}"], [name] + expect, {name: data}, about)
bench("bench-bigbench-no-examples", "bigbench", "task.json", json.dumps({"name": "x"}), ["examples"], "BIG-bench task without examples")
bench("bench-bigbench-not-json", "bigbench", "task.json", "{ examples: [", ["task.json"], "broken JSON")
bench("bench-bigbench-scores-text", "bigbench", "task.json", json.dumps({"examples": [{"input": "Q?", "target_scores": {"a": "yes", "b": 0}}]}), ["not a number"], "target score is a word")
bench("bench-hh-broken-line", "hh-rlhf", "test.jsonl", json.dumps({"chosen": "\n\nHuman: Q?\n\nAssistant: A.", "rejected": "\n\nHuman: Q?\n\nAssistant: B."}) + "\n{\"chosen\": 5\n", ["line 2"], "second line broken")
bench("bench-hh-truncated-gzip", "hh-rlhf", "test.jsonl.gz", gzz(("".join(json.dumps({"chosen": f"\n\nHuman: Q{i}?\n\nAssistant: A.", "rejected": f"\n\nHuman: Q{i}?\n\nAssistant: B."}) + "\n" for i in range(500))).encode())[:1200], ["truncated"], "gzip cut short")
bench("bench-truthfulqa-no-targets", "truthfulqa", "mc.json", json.dumps([{"question": "Q?"}]), ["mc1_targets"], "no mc1_targets")
bench("bench-moral-stories-empty", "moral-stories", "ms.jsonl", b"", ["ms.jsonl"], "zero-byte file")
bench("bench-ethics-bad-label", "ethics", "cm.csv", "label,input\nmaybe,I helped.\n", ["cm.csv"], "label is not 0/1")
case("bench-missing", "benchmark", EV + ["bigbench:{case}/absent.json"], ["absent.json"], {"README": "the benchmark named does not exist\n"}, "missing file")

# ---- Hugging Face folders (overlaid on the golden tiny LLaMA folder)
def hf(id, files, expect, about, command=None):
    case(id, "hf-folder", command or ["logits", "--model", "{hf}", "--ids", "1,2,3"], expect, files, about)
hdr = json.dumps({"model.embed_tokens.weight": {"dtype": "F32", "shape": [1000000000, 16], "data_offsets": [0, 64000000000]}}).encode()
hf("hf-safetensors-huge-claim", {"model.safetensors": struct.pack("<Q", len(hdr)) + hdr + b"\0" * 64}, ["model.safetensors"], "header claims a 64 GB tensor")
hf("hf-safetensors-header-too-long", {"model.safetensors": struct.pack("<Q", 1 << 40) + b"{}"}, ["model.safetensors"], "header length past the end")
hf("hf-safetensors-not-json", {"model.safetensors": struct.pack("<Q", 8) + b"notjson!"}, ["model.safetensors"], "header is not JSON")
hf("hf-safetensors-empty", {"model.safetensors": b""}, ["model.safetensors"], "zero-byte weights")
hdr2 = json.dumps({"model.norm.weight": {"dtype": "Q7", "shape": [16], "data_offsets": [0, 64]}}).encode()
hf("hf-safetensors-bad-dtype", {"model.safetensors": struct.pack("<Q", len(hdr2)) + hdr2 + b"\0" * 64}, ["model.safetensors", "Q7"], "unknown dtype")
hf("hf-config-zero-heads", {"config.json": json.dumps({"model_type": "llama", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 0, "vocab_size": 300})}, ["config.json"], "0 attention heads")
hf("hf-config-garbage", {"config.json": "\x00\x01garbage"}, ["config.json"], "config.json is garbage")
hf("hf-config-unknown-type", {"config.json": json.dumps({"model_type": "gpt_neox", "hidden_size": 16})}, ["config.json"], "architecture not supported")
TK = ["tokenize", "--model", "{hf}", "hello"]
hf("hf-tokenizer-no-vocab", {"tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "BPE", "merges": []}})}, ["tokenizer.json"], "BPE without a vocabulary", TK)
hf("hf-tokenizer-garbage", {"tokenizer.json": "not json at all"}, ["tokenizer.json"], "tokenizer.json is garbage", TK)
hf("hf-tokenizer-duplicate-added", {"tokenizer.json": json.dumps({"version": "1.0", "added_tokens": [{"id": 0, "content": "<s>", "special": True}, {"id": 1, "content": "<s>", "special": True}], "model": {"type": "BPE", "vocab": {"<s>": 0, "a": 1}, "merges": []}})}, ["tokenizer.json"], "the same added token twice", TK)

# ---- checkpoints (overlaid on a small trained checkpoint)
def ck(id, files, expect, about):
    case(id, "checkpoint", ["export", "--checkpoint", "{ckcopy}", "--out", "{out}"], expect, files, about)
ck("ckpt-state-garbage", {"state.json": "{ step: "}, ["state.json"], "state.json is broken")
ck("ckpt-state-empty", {"state.json": ""}, ["state.json"], "state.json is empty")
ck("ckpt-weights-truncated", {"model.safetensors": struct.pack("<Q", 40) + b'{"a": {"dtype": "F32", "shape": [4], "data'}, ["model.safetensors"], "weights cut inside the header")

# ---- metrics, samples, stats, reports
case("stats-corrupt", "stats", ["dataset", "stats", "{case}"], ["stats.json"], {"stats.json": "{\"records\": 12, \"candidates\": "}, "stats.json cut off")
case("stats-wrong-types", "stats", ["dataset", "stats", "{case}"], ["stats.json"], {"stats.json": json.dumps({"records": "many"})}, "stats.json with a word for a count")
case("report-corrupt", "report", ["eval", "leaderboard", "--root", "{case}"], ["report.json"], {"ckpt-a/report.json": "{\"checkpointId\": \"a\", \"scores\": {"}, "report.json cut off")
case("samples-corrupt", "samples", [a.replace("{out}", "{case}/out") for a in EV] + ["bigbench:{case}/task.json"], ["bigbench_task.jsonl", "line 1"], {"task.json": json.dumps({"examples": [{"input": "Q?", "target_scores": {"a": 1, "b": 0}}]}), "out/samples/bigbench_task.jsonl": "{\"id\": \"0\", \"pick\": \n{\"id\": \"1\", \"pick\": 0}\n"}, "a broken line before the last in the per-sample results (a cut-off last line alone is dropped)")

# ---- store files (sa runs reads artifacts/store/stable-alignment.db under the working folder)
case("store-zero-bytes", "store", ["runs"], ["stable-alignment.db", "empty or truncated"], {"artifacts/store/stable-alignment.db": b""}, "zero-byte store file")
case("store-truncated", "store", ["runs"], ["stable-alignment.db"], {"artifacts/store/stable-alignment.db": b"\x00" * 4000}, "store cut below one page")
case("store-garbage", "store", ["runs"], ["stable-alignment.db"], {"artifacts/store/stable-alignment.db": bytes(random.Random(3).randrange(256) for _ in range(32768))}, "32 KB of random bytes")

# ---- command line
case("cli-gateway-unparseable", "cli", ["runs", "--gateway", "not a url"], ["gateway"], {}, "--gateway that is not a URL")
case("cli-resume-with-grid", "cli", ["simulate", "--resume", "11111111-1111-1111-1111-111111111111", "--grid", "5"], ["--grid", "--resume"], {}, "--resume with settings of a new run")
case("cli-no-sampling-with-ratios", "cli", ["dataset", "build", "--from-export", "no-such-export", "--no-sampling", "--ratios", "3:1:1"], ["--ratios", "--no-sampling"], {}, "--no-sampling with ratios")
case("cli-remote-with-checkpoint", "cli", ["eval", "--remote", "--checkpoint", "no-such-checkpoint", "--benchmarks", "bigbench:x.json", "--out", "no-such-out"], ["--checkpoint", "--remote"], {}, "--remote and a checkpoint")
case("cli-markup-folder", "cli", ["dataset", "stats", "{case}/[red] x"], ["[red] x"], {"[red] x/README": "a folder whose name is Spectre markup\n"}, "folder named like console markup")

# ---- HTTP bodies (single-process app): status and a word the problem must contain
def http(id, method, url, body, status, expect, about):
    cases.append({"id": id, "channel": "http", "about": about, "method": method, "url": url, "body": body, "status": status, "expect": expect})
http("http-questions-not-json", "POST", "/api/questions", "{ text: ", 400, ["Malformed JSON"], "broken JSON")
http("http-questions-empty", "POST", "/api/questions", "{}", 400, ["No question"], "no question")
http("http-questions-text-number", "POST", "/api/questions", '{"text": 5}', 400, ["JSON"], "text is a number")
http("http-run-grid-huge", "POST", "/api/agents/runs", '{"gridSize": 100000, "questions": ["Q?"]}', 400, ["gridSize"], "grid of 10^10 agents")
http("http-run-no-questions", "POST", "/api/agents/runs", '{"gridSize": 2}', 400, ["questions"], "empty feed")
http("http-run-not-json", "POST", "/api/agents/runs", "gridSize=2", 400, [], "form data")
http("http-dataset-holdout", "POST", "/api/datasets", '{"runId": "' + "1" * 8 + '-1111-1111-1111-111111111111", "holdout": 5}', 400, ["holdout"], "holdout 5")
http("http-dataset-format", "POST", "/api/datasets", '{"runId": "11111111-1111-1111-1111-111111111111", "formats": ["csv"]}', 400, ["formats"], "unknown format")
http("http-dataset-format-null", "POST", "/api/datasets", '{"runId": "11111111-1111-1111-1111-111111111111", "formats": [null]}', 400, ["formats"], "a null format")
http("http-evaluation-repeats", "POST", "/api/evaluations", '{"runId": "11111111-1111-1111-1111-111111111111", "checkpointId": "c", "location": "x", "repeats": 0}', 400, ["repeats"], "zero repeats")
http("http-run-society-share", "POST", "/api/agents/runs", '{"gridSize": 2, "questions": ["Q?"], "socialAgentModels": [{"model": "m", "share": 0}]}', 400, ["socialAgentModels"], "a society model with no share")
http("http-training-loss", "POST", "/api/training", '{"runId": "11111111-1111-1111-1111-111111111111", "datasetId": "ds-1", "loss": "bogus"}', 400, ["loss"], "unknown loss")
http("http-training-escape", "POST", "/api/training", '{"runId": "11111111-1111-1111-1111-111111111111", "datasetId": "ds-1", "baseModel": "../../etc"}', 400, ["baseModel"], "base model outside the root")
http("http-evaluation-escape", "POST", "/api/evaluations", '{"runId": "11111111-1111-1111-1111-111111111111", "checkpointId": "c", "location": "/etc"}', 400, ["location"], "checkpoint outside the root")

# ---- AMQP messages (published raw; they must fault to the consumer's error queue with the reason)
def amqp(id, exchange, queue, body, expect, about):
    cases.append({"id": id, "channel": "amqp", "about": about, "exchange": exchange, "errorQueue": queue, "body": body, "expect": expect})
amqp("amqp-question-not-json", "QuestionPosed", "question-posed_error", "{ not json", [], "broken JSON")
amqp("amqp-question-too-long", "QuestionPosed", "question-posed_error", json.dumps({"runId": "11111111-1111-1111-1111-111111111111", "questionId": "21111111-1111-1111-1111-111111111111", "text": "x" * 5000}), ["4000"], "5,000-character question")
amqp("amqp-start-grid", "StartSimulation", "start-simulation_error", json.dumps({"runId": "31111111-1111-1111-1111-111111111111", "gridSize": 1000, "rounds": 1, "questions": ["Q?"]}), ["gridSize"], "grid too large")
amqp("amqp-build-holdout", "BuildDataset", "build-dataset_error", json.dumps({"runId": "41111111-1111-1111-1111-111111111111", "holdout": 5}), ["holdout"], "holdout 5")
amqp("amqp-train-escape", "TrainModel", "train-model_error", json.dumps({"runId": "51111111-1111-1111-1111-111111111111", "datasetId": "ds", "baseModel": "/etc"}), ["baseModel"], "absolute base model")
amqp("amqp-seed-empty-embedding", "SeedMemories", "seed-memories_error", json.dumps({"runId": "61111111-1111-1111-1111-111111111111", "entries": [{"agentId": 0, "question": "Q?", "answer": "A.", "embedding": []}]}), ["embedding"], "seed memory without an embedding")

# The reason each of these cases' one error line must give, beside the file it names: naming the file alone would
# pass an error that names the file for the wrong reason.
REASONS = {
    "export-no-agent-files": "files in", "export-invalid-utf8": "record 0: unreadable text", "export-empty-file": "not a JSON array of records",
    "train-object": 'no "instruction"', "train-nan": "invalid start of a value", "train-invalid-utf8": "not valid UTF-8 text",
    "train-folder-without-data": "Training data not found", "bench-bigbench-not-json": "not valid JSON", "bench-moral-stories-empty": "no records",
    "bench-ethics-bad-label": "label not 0 or 1", "bench-missing": "Benchmark file not found",
    "hf-safetensors-huge-claim": "past the end of the file", "hf-safetensors-header-too-long": "is not a safetensors file (header length",
    "hf-safetensors-not-json": "the safetensors header is not valid JSON", "hf-safetensors-empty": "shorter than its header",
    "hf-config-zero-heads": '"num_attention_heads" is 0; it must be positive', "hf-config-garbage": "is not valid JSON",
    "hf-config-unknown-type": "model_type 'gpt_neox' is not supported", "hf-tokenizer-no-vocab": "Missing vocab/merges",
    "hf-tokenizer-garbage": "not valid JSON", "hf-tokenizer-duplicate-added": "not a tokenizer file the tokenizers library can read",
    "ckpt-state-garbage": "not a readable checkpoint state", "ckpt-state-empty": "not a readable checkpoint state",
    "ckpt-weights-truncated": "the safetensors header is not valid JSON", "stats-corrupt": "not a readable DatasetStats",
    "stats-wrong-types": "not a readable DatasetStats", "report-corrupt": "not a readable EvaluationReport",
    "store-truncated": "less than one LiteDB page", "store-garbage": "not a readable store file",
    "cli-gateway-unparseable": "is not an http(s) URL", "cli-markup-folder": "is it a dataset folder",
}
for c in cases:
    expect = list(dict.fromkeys(c["expect"]))
    if c["id"] in REASONS and REASONS[c["id"]] not in expect:
        expect.append(REASONS[c["id"]])
    c["expect"] = expect
    if c["channel"] not in ("http", "amqp") and len(expect) < 2:
        raise SystemExit(f"{c['id']}: a command-line case must expect the file and a reason")

with open(os.path.join(root, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1, ensure_ascii=False)
print(len(cases), "cases;", sum(1 for c in cases if c["channel"] not in ("http", "amqp")), "command-line")
