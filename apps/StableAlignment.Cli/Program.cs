using System.CommandLine;
using System.Runtime.InteropServices;
using StableAlignment.Cli;

// Model options exist only on the commands that call models (added to them below).
var endpoint = new Option<string?>("--endpoint") { Description = "OpenAI-compatible base URL for every model role (the embedding role too), e.g. http://localhost:11434/v1" };
var model = new Option<string?>("--model") { Description = "Model name for every model role; for tokenize, logits and loss: the model folder, a checkpoint, tiny or small" };
var apiKey = new Option<string?>("--model-api-key") { Description = "API key of the model endpoint" };
// System.CommandLine has no parser for Uri: an absolute http(s) URL or a clear parse error.
static Uri? ParseUrl(System.CommandLine.Parsing.ArgumentResult r)
{
    var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : string.Empty;
    if (Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
    {
        return url;
    }

    r.AddError($"--gateway: '{text}' is not an http(s) URL (e.g. http://localhost:8080/).");
    return null;
}

var gateway = new Option<Uri>("--gateway") { Description = "Gateway base URL", DefaultValueFactory = _ => new Uri("http://localhost:8080/"), CustomParser = ParseUrl, Recursive = true };
var gatewayKey = new Option<string?>("--api-key") { Description = "Gateway API key (default: $SA_API_KEY)", Recursive = true };

var verbose = new Option<bool>("--verbose") { Description = "On an error, print the exception with its stack trace", Recursive = true };
var root = new RootCommand("sa — Stable Alignment operator command line");
root.Options.Add(verbose);

ModelOverrides Models(ParseResult p) => new(p.GetValue(endpoint), p.GetValue(model), p.GetValue(apiKey));
GatewayClient Gateway(ParseResult p) => new(p.GetValue(gateway)!, p.GetValue(gatewayKey) ?? Environment.GetEnvironmentVariable("SA_API_KEY"));

var questions = new Option<FileInfo?>("--questions") { Description = "Question file, one question per line (default: the bundled sample)" };
var limit = new Option<int?>("--limit") { Description = "Use only the first N questions" };
var output = new Option<DirectoryInfo>("--out") { Description = "Where results are written", DefaultValueFactory = _ => new DirectoryInfo("artifacts/runs") };
var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for all interactions", DefaultValueFactory = _ => 600 };
var run = new Command("run", "Run the pipeline end to end in one process (in-memory bus, embedded store)") { questions, limit, output, timeout };
run.SetAction((p, ct) => RunCommand.ExecuteAsync(Models(p), p.GetValue(questions), p.GetValue(limit), p.GetValue(output)!, p.GetValue(timeout), ct));
root.Subcommands.Add(run);

var urls = new Option<string>("--urls") { Description = "Address to listen on", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
var serve = new Command("serve", "Serve every service and the gateway API from one process") { urls };
serve.SetAction((p, ct) => ServeCommand.ExecuteAsync(Models(p), p.GetValue(urls)!, ct));
root.Subcommands.Add(serve);

var smCheckpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "What to serve: a training folder (its latest checkpoint), a checkpoint folder, or a Hugging Face model folder", Required = true };
var smUrls = new Option<string>("--urls") { Description = "Address to listen on", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
var smName = new Option<string?>("--name") { Description = "The model name clients send (default: the folder's name)" };
var smTemplate = new Option<StableAlignment.ModelServer.ChatTemplate>("--template") { Description = "How chat messages become the prompt: Recorded (the checkpoint's training template; Alpaca when none), Alpaca, or Raw", DefaultValueFactory = _ => StableAlignment.ModelServer.ChatTemplate.Recorded };
var smBatch = new Option<int>("--max-batch") { Description = "Sequences decoded together at most", DefaultValueFactory = _ => 64 };
var smKey = new Option<string?>("--server-api-key") { Description = "Require Authorization: Bearer KEY on every request (default: $SA_MODEL_SERVER_KEY; none: open)" };
var serveModel = new Command("serve-model", "Serve a checkpoint or Hugging Face folder over the OpenAI API: /v1/chat/completions, /v1/completions, /v1/models, /v1/embeddings (batched decoding, streaming)")
{ smCheckpoint, smUrls, smName, smTemplate, smBatch, smKey };
serveModel.SetAction((p, ct) => ServeModelCommand.ExecuteAsync(p.GetValue(smCheckpoint)!, p.GetValue(smUrls)!, p.GetValue(smName), p.GetValue(smTemplate),
    p.GetValue(smBatch), p.GetValue(smKey) ?? Environment.GetEnvironmentVariable("SA_MODEL_SERVER_KEY"), ct));
root.Subcommands.Add(serveModel);

var text = new Argument<string[]>("question") { Description = "One or more questions", Arity = ArgumentArity.OneOrMore };
var runId = new Option<Guid?>("--run") { Description = "Add the questions to this run" };
var ask = new Command("ask", "Post questions through the gateway") { text, runId, gateway, gatewayKey };
ask.SetAction((p, ct) => Gateway(p).AskAsync(p.GetValue(text)!, p.GetValue(runId), ct));
root.Subcommands.Add(ask);

var requiredRun = new Option<Guid>("--run") { Description = "The run id", Required = true };
var interactions = new Command("interactions", "List a run's stored interactions through the gateway") { requiredRun, gateway, gatewayKey };
interactions.SetAction((p, ct) => Gateway(p).InteractionsAsync(p.GetValue(requiredRun), ct));
root.Subcommands.Add(interactions);

var remote = new Option<Uri?>("--gateway") { Description = "List the runs of a gateway instead of the local store", CustomParser = ParseUrl };
var runs = new Command("runs", "List runs with their progress (local store, or --gateway)") { remote, gatewayKey };
runs.SetAction((p, ct) => p.GetValue(remote) is { } url
    ? new GatewayClient(url, p.GetValue(gatewayKey) ?? Environment.GetEnvironmentVariable("SA_API_KEY")).RunsAsync(ct)
    : RunsCommand.ExecuteAsync(new ModelOverrides(null, null, null), ct));
root.Subcommands.Add(runs);

var simQuestions = new Option<FileInfo?>("--questions") { Description = "Question feed: text lines, JSON Lines (question/text) or HH-RLHF dialogues, plain or gzip (default: bundled)" };
var grid = new Option<int>("--grid") { Description = "Side of the square world (N×N agents)", DefaultValueFactory = _ => 3 };
var rounds = new Option<int>("--rounds") { Description = "Rounds: each agent leads one interaction per round", DefaultValueFactory = _ => 1 };
var init = new Option<string>("--init") { Description = "all_good, all_bad, half_half or mixed_half_half", DefaultValueFactory = _ => "all_good" };
init.AcceptOnlyFromAmong("all_good", "all_bad", "half_half", "mixed_half_half");
var peers = new Option<int>("--peers") { Description = "Peers asked for feedback per interaction", DefaultValueFactory = _ => 4 };
var global = new Option<bool>("--global") { Description = "Take part of the peers from outside the social circle" };
var dropout = new Option<double>("--dropout") { Description = "With --global: share of the circle dropped", DefaultValueFactory = _ => 0.5 };
var prior = new Option<FileInfo?>("--prior") { Description = "Labelled prior, JSON Lines {question, response, morality_label} (default: bundled, 240 entries per label)" };
var seed = new Option<int>("--seed") { Description = "Random seed: same seed, same world and peers", DefaultValueFactory = _ => 0 };
var seedMemories = new Option<int>("--seed-memories") { Description = "Seed memories per agent from the prior (it needs twice as many entries per label)", DefaultValueFactory = _ => 50 };
var export = new Option<DirectoryInfo?>("--export") { Description = "Write external_memory/agent_<id>.jsonl and summary.json here" };
var resume = new Option<Guid?>("--resume") { Description = "Continue this run: missing and failed interactions are run again" };
var simTimeout = new Option<int>("--timeout") { Description = "Seconds to wait for the run", DefaultValueFactory = _ => 3600 };
var keepPartial = new Option<bool>("--keep-partial") { Description = "Keep the complete lines of a truncated gzip feed or prior instead of failing" };
var simulate = new Command("simulate", "Run a SANDBOX simulation with Back-Scatter in one process")
{
    simQuestions, grid, rounds, init, peers, global, dropout, prior, seed, seedMemories, export, resume, simTimeout, keepPartial,
};
simulate.SetAction((p, ct) => SimulateCommand.ExecuteAsync(Models(p), new SimulateArguments(
    p.GetValue(simQuestions), p.GetValue(grid), p.GetValue(rounds), p.GetValue(init)!, p.GetValue(peers), p.GetValue(global),
    p.GetValue(dropout), p.GetValue(prior), p.GetValue(seed), p.GetValue(seedMemories), p.GetValue(export), p.GetValue(resume),
    p.GetValue(simTimeout), p.GetValue(keepPartial)), ct));
root.Subcommands.Add(simulate);

var dsRun = new Option<Guid[]>("--run") { Description = "Build from this run in the local store (repeat to pool several runs)", DefaultValueFactory = _ => [] };
var dsExport = new Option<DirectoryInfo[]>("--from-export") { Description = "Build from an export folder (external_memory/agent_<id>.jsonl, the original form; repeat to pool several)", DefaultValueFactory = _ => [] };
var dsRatios = new Option<string>("--ratios") { Description = "Imitation:self-critic:realignment", DefaultValueFactory = _ => "5:1:1" };
var dsNoSampling = new Option<bool>("--no-sampling") { Description = "Keep every sample" };
var dsSeed = new Option<int>("--seed") { Description = "Seed for sampling and the held-out split", DefaultValueFactory = _ => 0 };
var dsHoldout = new Option<double>("--holdout") { Description = "Share of questions held out", DefaultValueFactory = _ => 0 };
var dsFormat = new Option<string>("--format") { Description = "authors, alpaca, trl (comma-separated)", DefaultValueFactory = _ => "authors,alpaca,trl" };
var dsOut = new Option<DirectoryInfo>("--out") { Description = "Dataset folder", DefaultValueFactory = _ => new DirectoryInfo("artifacts/datasets/latest") };
var dsBuild = new Command("build", "Build imitation, self-critic and realignment data") { dsRun, dsExport, dsRatios, dsNoSampling, dsSeed, dsHoldout, dsFormat, dsOut };
dsBuild.SetAction((p, ct) => DatasetCommand.BuildAsync(new ModelOverrides(null, null, null), new DatasetArguments(
    p.GetValue(dsRun) ?? [], p.GetValue(dsExport) ?? [], p.GetValue(dsRatios)!, p.GetValue(dsNoSampling), p.GetValue(dsSeed), p.GetValue(dsHoldout),
    p.GetValue(dsFormat)!, p.GetValue(dsOut)!), ct));
var dsFolder = new Argument<DirectoryInfo>("folder") { Description = "A dataset folder" };
var dsStats = new Command("stats", "What a build kept and dropped, and why") { dsFolder };
dsStats.SetAction((p, ct) => DatasetCommand.StatsAsync(p.GetValue(dsFolder)!, ct));
root.Subcommands.Add(new Command("dataset", "Alignment data from interaction records") { dsBuild, dsStats });

var trData = new Option<string>("--data") { Description = "dataset-builder's authors JSON or alpaca JSON Lines (or a dataset folder)", Required = true };
var trBase = new Option<string>("--base") { Description = "tiny, small, a Hugging Face model folder (LLaMA, Mistral, Qwen2) or a checkpoint folder", DefaultValueFactory = _ => "tiny" };
var trOut = new Option<DirectoryInfo>("--out") { Description = "Training folder: checkpoints, metrics.jsonl, metrics.png", Required = true };
var trLoss = new Option<string>("--loss") { Description = "stable-alignment, sft, fixed-margin (no rating modulation) or dpo (against the starting model)", DefaultValueFactory = _ => "stable-alignment" };
var trBeta = new Option<double>("--beta") { Description = "DPO's β", DefaultValueFactory = _ => 0.1 };
var trMargin = new Option<double>("--margin") { Description = "M, the margin at the full rating gap", DefaultValueFactory = _ => 10 };
var trRatio = new Option<double>("--ratio") { Description = "λ, the weight of the contrastive term", DefaultValueFactory = _ => 0.2 };
var trScale = new Option<double>("--rating-scale") { Description = "R, the rating range", DefaultValueFactory = _ => 7 };
var trMaxFlow = new Option<bool>("--max-flow") { Description = "Hinge on the largest term instead of the mean" };
var trComp = new Option<int>("--num-comp") { Description = "Responses per query per step", DefaultValueFactory = _ => 3 };
var trLr = new Option<double>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => 3e-4 };
var trEpochs = new Option<int>("--epochs") { Description = "Passes over the data", DefaultValueFactory = _ => 2 };
var trAccum = new Option<int>("--accumulation") { Description = "Queries per optimiser step", DefaultValueFactory = _ => 8 };
var trMaxLen = new Option<int>("--max-length") { Description = "Tokens per sequence (prompt and response; longer ones are cut)", DefaultValueFactory = _ => 256 };
var trWd = new Option<double>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => 0 };
var trClip = new Option<double>("--clip") { Description = "Gradient norm clip (0: off)", DefaultValueFactory = _ => 1 };
var trWarm = new Option<double>("--warmup") { Description = "Share of steps warming up", DefaultValueFactory = _ => 0.03 };
var trSeed = new Option<int>("--seed") { Description = "Seed of the initial weights and the data order: the same seed gives the same loss curve on the CPU", DefaultValueFactory = _ => 0 };
var trEvery = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints; the last step always writes one (0: none, for measurements)", DefaultValueFactory = _ => 50 };
var trMaxSteps = new Option<int?>("--max-steps") { Description = "Stop after this many steps" };
var trThreads = new Option<int>("--threads") { Description = "CPU threads (0: all cores)", DefaultValueFactory = _ => 0 };
var trPack = new Option<int>("--tokens-per-forward") { Description = "Pack a step's queries into forward passes of up to this many padded tokens (0: 1 query per pass on the CPU, 16384 tokens on CUDA)", DefaultValueFactory = _ => 0 };
var trEos = new Option<bool>("--append-eos") { Description = "Follow each response with the end-of-sequence token (--append-eos false: as the original)", DefaultValueFactory = _ => true };
var trTruncation = new Option<string>("--truncation") { Description = "Over-long sequences: prompt-head (keep the response, cut the prompt's beginning) or end (keep the first tokens, as the original)", DefaultValueFactory = _ => "prompt-head" };
var trPreset = new Option<string?>("--preset") { Description = "authors: the authors' recipe (lr 2e-5, 7 epochs, 32 queries per step, max length 360 cut at the end, no EOS, cosine with 3 % warm-up, weight decay 0); options given explicitly win" };
var trPrecision = new Option<string>("--precision") { Description = "fp32, bf16-mixed (fp32 master weights and AdamW state, bf16 forward and backward), bf16 (bf16 weights: small updates round away) or auto (bf16-mixed on CUDA, fp32 on the CPU)", DefaultValueFactory = _ => "auto" };
var trLoraRank = new Option<int>("--lora-rank") { Description = "Train LoRA adapters of this rank on a frozen base instead of every weight (0: full fine-tuning)", DefaultValueFactory = _ => 0 };
var trLoraAlpha = new Option<double>("--lora-alpha") { Description = "LoRA's alpha: the adapters' update is scaled by alpha / rank", DefaultValueFactory = _ => 16 };
var trLoraDropout = new Option<double>("--lora-dropout") { Description = "Dropout on the adapters' input while training", DefaultValueFactory = _ => 0.05 };
var trLoraTargets = new Option<string>("--lora-targets") { Description = "The projections that get adapters, comma-separated", DefaultValueFactory = _ => string.Join(",", StableAlignment.Learning.LoraOptions.AllTargets) };
var trCheckpointing = new Option<bool>("--gradient-checkpointing") { Description = "Recompute each decoder layer in the backward pass instead of keeping its activations (less memory, about a third more compute; same numbers)" };
var train = new Command("train", "Fine-tune a model with the Stable Alignment loss (or the SFT baseline); resumes from the folder's latest checkpoint")
{
    trData, trBase, trOut, trLoss, trMargin, trRatio, trScale, trMaxFlow, trComp, trLr, trEpochs, trAccum, trMaxLen, trWd, trClip, trWarm, trSeed, trEvery, trMaxSteps, trThreads, trPack, trBeta, trPrecision, trEos, trTruncation, trPreset,
    trLoraRank, trLoraAlpha, trLoraDropout, trLoraTargets, trCheckpointing,
};
train.SetAction((p, ct) =>
{
    // A preset supplies the values of the options not given explicitly (on the command line or in --config).
    var preset = p.GetValue(trPreset);
    if (preset is not (null or "authors"))
    {
        Console.Error.WriteLine($"--preset must be authors, not '{preset}'.");
        return Task.FromResult(2);
    }

    var authors = StableAlignment.Learning.TrainOptions.Authors(new StableAlignment.Learning.TrainOptions());
    T Value<T>(Option<T> option, T recipe)
    {
        if (preset != "authors" || Given(p.CommandResult, option))
        {
            return p.GetValue(option)!;
        }

        ConfigFile.Resolved[option.Name] = recipe!; // config.resolved.yaml shows the recipe's value, which is what runs
        return recipe;
    }

    return TrainCommands.TrainAsync(new TrainArguments(
        p.GetValue(trData)!, p.GetValue(trBase)!, p.GetValue(trOut)!, p.GetValue(trLoss)!, Value(trMargin, authors.Loss.Margin), Value(trRatio, authors.Loss.Ratio),
        Value(trScale, authors.Loss.RatingScale), p.GetValue(trMaxFlow), Value(trComp, authors.Loss.Comparisons), Value(trLr, authors.LearningRate),
        Value(trEpochs, authors.Epochs), Value(trAccum, authors.Accumulation), Value(trMaxLen, authors.MaxLength), Value(trWd, authors.WeightDecay),
        p.GetValue(trClip), Value(trWarm, authors.WarmupShare), p.GetValue(trSeed), p.GetValue(trEvery), p.GetValue(trMaxSteps), p.GetValue(trThreads), p.GetValue(trPack),
        p.GetValue(trBeta), p.GetValue(trPrecision)!, Value(trEos, authors.AppendEos), Value(trTruncation, authors.Truncation),
        p.GetValue(trLoraRank) == 0 ? null : new StableAlignment.Learning.LoraOptions
        {
            Rank = p.GetValue(trLoraRank), Alpha = p.GetValue(trLoraAlpha), Dropout = p.GetValue(trLoraDropout),
            Targets = [.. p.GetValue(trLoraTargets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
        }, p.GetValue(trCheckpointing)), ct);
});
root.Subcommands.Add(train);

var lsNll = new Option<string?>("--nll") { Description = "Length-normalised NLL per response, comma-separated" };
var lsRatings = new Option<string?>("--ratings") { Description = "Rating per response, comma-separated" };
var lsData = new Option<string?>("--data") { Description = "With --model DIR: compute the NLLs of every group of this data file under the model" };
var lsMaxLen = new Option<int>("--max-length") { Description = "With --data: tokens per sequence", DefaultValueFactory = _ => 512 };
var lsMargin = new Option<double>("--margin") { Description = "M, the margin at the full rating gap", DefaultValueFactory = _ => 10 };
var lsRatio = new Option<double>("--ratio") { Description = "λ, the weight of the contrastive term", DefaultValueFactory = _ => 0.2 };
var lsScale = new Option<double>("--rating-scale") { Description = "R, the rating range", DefaultValueFactory = _ => 7 };
var lsMaxFlow = new Option<bool>("--max-flow") { Description = "Hinge on the largest term instead of the mean" };
var loss = new Command("loss", "Print the Stable Alignment loss as JSON: of given NLLs and ratings, or (--model DIR --data FILE) of each group under a model")
{
    lsNll, lsRatings, lsMargin, lsRatio, lsScale, lsMaxFlow, lsData, lsMaxLen,
};
loss.SetAction(p => p.GetValue(lsData) is { } lossData
    ? TrainCommands.ModelLoss(p.GetValue(model) ?? "tiny", lossData, new StableAlignment.Learning.LossOptions
    {
        Margin = p.GetValue(lsMargin), Ratio = p.GetValue(lsRatio), RatingScale = p.GetValue(lsScale), MaxFlow = p.GetValue(lsMaxFlow),
    }, p.GetValue(lsMaxLen))
    : p.GetValue(lsNll) is { } lossNll && p.GetValue(lsRatings) is { } lossRatings
        ? TrainCommands.Loss(lossNll, lossRatings, p.GetValue(lsMargin), p.GetValue(lsRatio), p.GetValue(lsScale), p.GetValue(lsMaxFlow))
        : TrainCommands.Usage("sa loss needs --nll and --ratings, or --model DIR and --data FILE."));
root.Subcommands.Add(loss);

var tkDecode = new Option<bool>("--decode") { Description = "The arguments are token ids (comma- or space-separated): print their text" };
var tkJson = new Option<bool>("--json") { Description = "One JSON object per text: ids, tokens, decoded" };
var tkText = new Argument<string[]>("text") { Description = "Texts to tokenize (or ids to decode)", Arity = ArgumentArity.OneOrMore };
var tokenize = new Command("tokenize", "Token ids and tokens of a text under a model's tokenizer (--model DIR: a model folder, a checkpoint, tiny or small)") { tkDecode, tkJson, tkText };
tokenize.SetAction(p => ModelCommands.Tokenize(p.GetValue(model) ?? "tiny", p.GetValue(tkDecode), p.GetValue(tkJson), p.GetValue(tkText)!));
root.Subcommands.Add(tokenize);

var exCheckpoint = new Option<string>("--checkpoint") { Description = "A training folder, a checkpoint or a model folder", Required = true };
var exOut = new Option<DirectoryInfo>("--out") { Description = "The Hugging Face folder to write (replaced if it exists)", Required = true };
var exDtype = new Option<string>("--dtype") { Description = "fp32, bf16 or fp16", DefaultValueFactory = _ => "fp32" };
var exAdapter = new Option<bool>("--adapter") { Description = "For a LoRA checkpoint: write its adapters as a PEFT folder (adapter_config.json, adapter_model.safetensors) instead of the merged model" };
var exportModel = new Command("export", "Write a checkpoint as a Hugging Face folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json (a LoRA checkpoint merged, or with --adapter as a PEFT folder)") { exCheckpoint, exOut, exDtype, exAdapter };
exportModel.SetAction(p => ModelCommands.Export(p.GetValue(exCheckpoint)!, p.GetValue(exOut)!, p.GetValue(exDtype)!, p.GetValue(exAdapter)));
root.Subcommands.Add(exportModel);

var lgIds = new Option<string>("--ids") { Description = "Token ids, comma-separated", Required = true };
var lgOut = new Option<FileInfo?>("--out") { Description = "Write the JSON here instead of standard output" };
var logitsCommand = new Command("logits", "The fp32 logits of a sequence of ids as JSON (--model DIR), for parity checks") { lgIds, lgOut };
logitsCommand.SetAction(p => ModelCommands.Logits(p.GetValue(model), p.GetValue(lgIds)!, p.GetValue(lgOut)));
root.Subcommands.Add(logitsCommand);

var evCheckpoint = new Option<DirectoryInfo?>("--checkpoint") { Description = "A training folder or checkpoint (its latest checkpoint is used)" };
var evBenchmarks = new Option<string>("--benchmarks") { Description = "kind:path, comma-separated: hh-rlhf:FILE, bigbench:FILE, moral-stories:FILE, ethics:FILE, truthfulqa:FILE, heldout:DATASET, judge:QUESTIONS, pairwise:QUESTIONS", Required = true };
var evOut = new Option<DirectoryInfo>("--out") { Description = "Report folder (an interrupted evaluation continues here)", Required = true };
var evAdversarial = new Option<bool>("--adversarial") { Description = "Also run with jailbreak-style wrappers and report the drop" };
var evWrappers = new Option<FileInfo?>("--wrappers") { Description = "Wrapper file, one template with {prompt} per line (default: bundled)" };
var evRepeats = new Option<int>("--repeats") { Description = "Judge repeats per question", DefaultValueFactory = _ => 1 };
var evBaseline = new Option<DirectoryInfo?>("--baseline") { Description = "Baseline checkpoint for pairwise judging" };
var evRemote = new Option<bool>("--remote") { Description = "Answer with the SocialAgent role's model (any configured endpoint) instead of a checkpoint" };
var evLimit = new Option<int?>("--limit") { Description = "Use only the first N items of each benchmark" };
var evNew = new Option<int>("--max-new-tokens") { Description = "Tokens generated per answer (judged benchmarks)", DefaultValueFactory = _ => 256 };
var evSelfJudge = new Option<bool>("--allow-self-judge") { Description = "Judge with the observer's own model (refused otherwise: its scores would be agreement with itself); the report marks it" };
var eval = new Command("eval", "Evaluate a checkpoint (or a remote model): likelihood, held-out preference, judged generation, adversarial")
{
    evCheckpoint, evBenchmarks, evOut, evAdversarial, evWrappers, evRepeats, evBaseline, evRemote, evLimit, evNew, evSelfJudge,
};
eval.SetAction((p, ct) => EvalCommand.RunAsync(Models(p), new EvalArguments(
    p.GetValue(evCheckpoint), p.GetValue(evBenchmarks)!, p.GetValue(evOut)!, p.GetValue(evAdversarial), p.GetValue(evWrappers), p.GetValue(evRepeats),
    p.GetValue(evBaseline), p.GetValue(evRemote), p.GetValue(evLimit), p.GetValue(evNew), p.GetValue(evSelfJudge)), ct));
var lbRoot = new Option<DirectoryInfo>("--root") { Description = "Folder holding evaluation reports", DefaultValueFactory = _ => new DirectoryInfo("artifacts/evaluations") };
var leaderboard = new Command("leaderboard", "Every evaluation under a folder, best first; writes leaderboard.md and leaderboard.png") { lbRoot };
leaderboard.SetAction(p => EvalCommand.Leaderboard(p.GetValue(lbRoot)!));
eval.Subcommands.Add(leaderboard);
root.Subcommands.Add(eval);

var soSeeds = new Option<int>("--seeds") { Description = "Repeat the experiment over this many seeds", DefaultValueFactory = _ => 1 };
var soOut = new Option<DirectoryInfo?>("--out") { Description = "Report folder (default: artifacts/society-<time>)" };
var soSize = new Option<string>("--size") { Description = "Local agent size: tiny or small", DefaultValueFactory = _ => "tiny" };
var society = new Command("society", "The offline miniature: local models, a SANDBOX run, alignment data, Stable Alignment vs SFT, held-out evaluation") { soSeeds, soOut, soSize };
society.SetAction((p, ct) => SocietyCommand.RunAsync(Models(p), p.GetValue(soSeeds), p.GetValue(soOut), p.GetValue(soSize)!, ct));
root.Subcommands.Add(society);

var lpIterations = new Option<int>("--iterations") { Description = "Iterations: simulate with the current checkpoint, build the data, train Stable Alignment from it, evaluate", DefaultValueFactory = _ => 3 };
var lpOut = new Option<DirectoryInfo>("--out") { Description = "Loop folder; running the same command on it again continues where it stopped", DefaultValueFactory = _ => new DirectoryInfo("artifacts/loop") };
var lpGrid = new Option<int>("--grid") { Description = "Society grid side (agents = grid²)", DefaultValueFactory = _ => 4 };
var lpRounds = new Option<int>("--rounds") { Description = "Rounds per simulation", DefaultValueFactory = _ => 2 };
var lpSeed = new Option<int>("--seed") { Description = "Seed of the questions' order, the world and training", DefaultValueFactory = _ => 1 };
var lpEpochs = new Option<int>("--epochs") { Description = "Training epochs per iteration", DefaultValueFactory = _ => 2 };
var lpPrevious = new Option<double>("--previous-share") { Description = "Share of the agents (0–1) that stay on the previous iteration's checkpoint, from iteration 2", DefaultValueFactory = _ => 0 };
var lpExtEndpoint = new Option<string?>("--external-endpoint") { Description = "An OpenAI-compatible endpoint whose model plays --external-share of the agents in every iteration" };
var lpExtModel = new Option<string?>("--external-model") { Description = "The external endpoint's model name" };
var lpExtShare = new Option<double>("--external-share") { Description = "Share of the agents (0–1) played by the external model", DefaultValueFactory = _ => 0 };
var lpSize = new Option<string>("--size") { Description = "Local agent size for the base: tiny or small", DefaultValueFactory = _ => "tiny" };
var lpBase = new Option<DirectoryInfo?>("--base") { Description = "Start from this model instead of the pretrained local agent: a training folder, a checkpoint or a Hugging Face model folder (LLaMA, Mistral, Qwen2)" };
var loop = new Command("loop", "The closed loop: each iteration's checkpoint, served over the OpenAI API, plays the next society; its data train the next checkpoint")
{
    lpIterations, lpOut, lpGrid, lpRounds, lpSeed, lpEpochs, lpPrevious, lpExtEndpoint, lpExtModel, lpExtShare, lpSize, lpBase,
};
loop.SetAction((p, ct) => LoopCommand.RunAsync(new StableAlignment.Society.LoopOptions
{
    Iterations = p.GetValue(lpIterations), Grid = p.GetValue(lpGrid), Rounds = p.GetValue(lpRounds), Seed = p.GetValue(lpSeed), TrainEpochs = p.GetValue(lpEpochs),
    PreviousShare = p.GetValue(lpPrevious), ExternalEndpoint = p.GetValue(lpExtEndpoint), ExternalModel = p.GetValue(lpExtModel), ExternalShare = p.GetValue(lpExtShare),
    ExternalApiKey = Environment.GetEnvironmentVariable("SA_EXTERNAL_API_KEY"), Base = p.GetValue(lpBase)?.FullName,
}, p.GetValue(lpOut)!, p.GetValue(lpSize)!, ct));
root.Subcommands.Add(loop);

foreach (var command in new Command[] { run, serve, simulate, eval, society })
{
    command.Options.Add(endpoint);
    command.Options.Add(model);
    command.Options.Add(apiKey);
}

foreach (var command in new Command[] { tokenize, logitsCommand, loss })
{
    command.Options.Add(model);
}

// An example per command in its --help.
void Example(Command command, string example) => command.Description += $"\n\nExample:\n  {example}";

// Options that make others meaningless refuse them (exit 2 naming both). An option counts as given when its value
// differs from its default, so a config.resolved.yaml, which lists every option, repeats a run without tripping this.
static bool Given(System.CommandLine.Parsing.CommandResult r, Option o)
{
    if (r.GetResult(o) is not { Implicit: false } given)
    {
        return false;
    }

    var value = given.GetValueOrDefault<object?>();
    var @default = o.HasDefaultValue ? o.GetDefaultValue() : o.ValueType.IsValueType && Nullable.GetUnderlyingType(o.ValueType) is null ? Activator.CreateInstance(o.ValueType) : null;
    return value is FileSystemInfo f && @default is FileSystemInfo d ? f.FullName != d.FullName : !object.Equals(value, @default);
}

void Excludes(Command command, Option lead, string why, params Option[] others) => command.Validators.Add(r =>
{
    if (Given(r, lead))
    {
        foreach (var other in others.Where(o => Given(r, o)))
        {
            r.AddError($"{other.Name} cannot be combined with {lead.Name}: {why}.");
        }
    }
});
Excludes(simulate, resume, "a resumed run keeps the settings it was started with", simQuestions, grid, rounds, init, peers, global, dropout, prior, seed, seedMemories, keepPartial);
Excludes(dsBuild, dsNoSampling, "it keeps every sample, so there are no ratios to sample by", dsRatios);
Excludes(eval, evRemote, "--remote answers with the configured SocialAgent model, --checkpoint with a local one; give one of them", evCheckpoint);
Example(run, "sa run --endpoint http://localhost:11434/v1 --model llama3.1 --limit 5");
Example(serveModel, "sa serve-model --checkpoint artifacts/train/sa --urls http://127.0.0.1:8000   (then: --endpoint http://127.0.0.1:8000/v1 --model NAME)");
Example(loop, "sa loop --iterations 3 --out artifacts/loop   (again after a crash: the same command continues)");
Example(serve, "sa serve --urls http://127.0.0.1:8080   (the API and the dashboard; the key is printed)");
Example(simulate, "sa simulate --grid 4 --rounds 2 --init mixed_half_half --export out/sim --endpoint http://localhost:11434/v1 --model llama3.1");
Example(dsBuild, "sa dataset build --from-export out/sim --holdout 0.1 --out out/dataset");
Example(train, "sa train --data out/dataset --base tiny --epochs 2 --out out/train   (or --config examples/train.yaml)");
Example(eval, "sa eval --checkpoint out/train --benchmarks bigbench:data/benchmarks/society-choice.json --out out/eval");
Example(society, "sa society --seeds 3");
Example(ask, "sa ask \"Is it fine to lie to a friend?\" --gateway http://localhost:8080/ --api-key $KEY");

var config = new Option<FileInfo?>("--config") { Description = "YAML file of this command's options (name: value); options on the command line win. The resolved options are saved as config.resolved.yaml beside the output", Recursive = true };
root.Options.Add(config);
string[] merged;
try
{
    merged = ConfigFile.Merge(args, root);
}
catch (ConfigException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

var parsed = root.Parse(merged);
// --help shows the help even when required options are missing.
var wantsHelp = merged.Any(a => a is "--help" or "-h" or "-?");
if (parsed.Errors.Count > 0 && !wantsHelp)
{
    Console.Error.WriteLine($"error: {string.Join(" ", parsed.Errors.Select(e => e.Message))} (sa {string.Join(' ', args.Take(1))} --help lists the options)");
    return 2;
}

// SIGTERM and Ctrl+C stop every command within seconds: the command's token is cancelled (in-flight model calls
// with it; runs stay resumable), and a command that has not returned 10 s later is ended.
using var shutdown = new CancellationTokenSource();
void Stop(PosixSignalContext signal)
{
    signal.Cancel = true;
    if (!shutdown.IsCancellationRequested)
    {
        shutdown.Cancel();
        _ = Task.Delay(TimeSpan.FromSeconds(10)).ContinueWith(_ =>
        {
            Console.Error.WriteLine($"error: stopped by {signal.Signal} (the command had not finished 10 s later); a run left behind continues with --resume");
            Environment.Exit(130);
        }, TaskScheduler.Default);
    }
}

using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
try
{
    var exit = await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, shutdown.Token);
    // The resolved options go beside the output (--out, or simulate's --export), so the run can be repeated exactly.
    if (exit == 0 && parsed.Errors.Count == 0 && !wantsHelp && parsed.CommandResult.Command.Options.FirstOrDefault(o => o.Name is "--out" or "--export") is { } outOption
        && parsed.GetResult(outOption)?.GetValueOrDefault<object?>() is DirectoryInfo { Exists: true } folder)
    {
        ConfigFile.WriteResolved(parsed, root, folder.FullName);
    }

    return exit;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
catch (Exception e)
{
    // Bad input ends in one line naming what was wrong (the readers' messages name the file, line or record), exit 2.
    Console.Error.WriteLine(parsed.GetValue(verbose) ? e.ToString() : CliErrors.OneLine(e));
    return 2;
}
