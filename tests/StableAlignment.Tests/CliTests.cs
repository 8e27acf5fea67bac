using System.Diagnostics;

namespace StableAlignment.Tests;

/// <summary>The <c>sa</c> command line as a user runs it: a separate process in its own working folder.</summary>
public sealed class CliTests
{
    private static ProcessStartInfo StartInfo(string workingDirectory, string[] args) => SaProcess.StartInfo(workingDirectory, args);

    private static Task<(int Exit, string Out, string Err)> Sa(string workingDirectory, params string[] args) => SaProcess.RunAsync(workingDirectory, args);

    [Fact]
    public async Task Run_without_a_model_fails_fast_with_one_line_saying_how_to_configure_one()
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli")).FullName;
        var (exit, _, err) = await Sa(folder, "run");
        Assert.Equal(2, exit);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--endpoint", line);
    }

    [Fact]
    public async Task Run_against_an_endpoint_stores_every_question_and_writes_the_results()
    {
        await using var stub = await StubModelServer.StartAsync();
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli")).FullName;
        var questions = Path.Combine(folder, "questions.txt");
        await File.WriteAllLinesAsync(questions, ["Is it kind to tell the truth?", "", "Should I help a stranger?", "May I borrow without asking?"]);

        var (exit, stdout, err) = await Sa(folder, "run", "--endpoint", stub.Endpoint, "--model", "stub-cli", "--questions", questions);

        Assert.True(exit == 0, $"exit {exit}: {err}\n{stdout}");
        Assert.Contains("3 of 3 interactions stored", stdout);
        var written = Directory.GetFiles(Path.Combine(folder, "artifacts", "runs"), "interactions.json", SearchOption.AllDirectories);
        var records = JsonNode.Parse(await File.ReadAllTextAsync(Assert.Single(written)))!.AsArray();
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal("stub-cli", r!["socialModel"]!.GetValue<string>()));
        Assert.True(File.Exists(Path.Combine(folder, "artifacts", "store", "stable-alignment.db")));
    }

    [Fact]
    public async Task Simulation_killed_mid_way_and_resumed_has_every_interaction_exactly_once()
    {
        await using var stub = await StubModelServer.StartAsync();
        stub.Latency = TimeSpan.FromMilliseconds(40);
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli-sim")).FullName;
        string[] common = ["--endpoint", stub.Endpoint, "--model", "stub-sim"];

        using (var first = Process.Start(StartInfo(folder, ["simulate", "--grid", "3", "--rounds", "2", "--seed", "5", .. common]))!)
        {
            var runLine = await first.StandardOutput.ReadLineAsync();
            Assert.StartsWith("run ", runLine);
            _ = first.StandardOutput.ReadToEndAsync();
            _ = first.StandardError.ReadToEndAsync();
            await Eventually.ReturnsAsync(() => Task.FromResult(stub.Requests), n => n >= 90, TimeSpan.FromSeconds(60));
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
            var runId = Guid.Parse(runLine![4..]);
            var storePath = Path.Combine(folder, "artifacts", "store", "stable-alignment.db");
            using (var killed = new EmbeddedStore(storePath))
            {
                var partial = await killed.Interactions.CountByRunAsync(runId, StableAlignment.Storage.InteractionStatus.Completed);
                Assert.InRange(partial, 0, 17);
                Assert.Equal(StableAlignment.Storage.RunStatus.Running, (await killed.Runs.GetAsync(runId))!.Status);
            }

            var (exit, stdout, err) = await Sa(folder, ["simulate", "--resume", runId.ToString(), "--export", "export", "--json", .. common]);
            Assert.True(exit == 0, $"exit {exit}: {err}\n{stdout}");

            // --json: standard output is the summary alone (as summary.json has it); the notes went to standard error.
            var printed = JsonNode.Parse(stdout)!;
            Assert.Equal(runId.ToString(), (string?)printed["run_id"]);
            Assert.Equal(18, (int)printed["completed"]!);
            Assert.Contains($"run {runId}", err, StringComparison.Ordinal);

            // sa runs: --json lists the run; the table, written to a pipe, keeps the run id on one line.
            var (runsExit, runsJson, runsErr) = await Sa(folder, "runs", "--json");
            Assert.True(runsExit == 0, runsErr);
            var listed = Assert.Single(JsonNode.Parse(runsJson)!.AsArray())!;
            Assert.Equal(runId.ToString(), (string?)listed["id"]);
            Assert.Equal("simulation", (string?)listed["kind"]);
            Assert.Equal(18, (int)listed["completed"]!);
            var (_, table, _) = await Sa(folder, "runs");
            Assert.Contains(table.Split('\n'), line => line.Contains(runId.ToString(), StringComparison.Ordinal) && line.Contains("simulation", StringComparison.Ordinal));

            using var store = new EmbeddedStore(storePath);
            var records = await store.Interactions.ListByRunAsync(runId);
            Assert.Equal(18, records.Count);
            Assert.Equal(18, records.Select(r => (r.Round, r.AgentId)).Distinct().Count());
            Assert.All(records, r => Assert.Equal(StableAlignment.Storage.InteractionStatus.Completed, r.Status));
            Assert.Equal(9, Directory.GetFiles(Path.Combine(folder, "export", "external_memory")).Length);
            var summary = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "export", "summary.json")))!;
            Assert.Equal(18, (int)summary["completed"]!);
            Assert.Equal(2, summary["rounds"]!.AsArray().Count);
            Assert.Equal(0, (int)summary["invalid_by_role"]!["peer"]!["invalid"]!);
            Assert.True(new FileInfo(Path.Combine(folder, "export", "curves.png")).Length > 1000);
        }
    }

    [Fact]
    public async Task Simulate_with_a_bad_feed_says_which_line_and_why()
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli-bad")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "q.jsonl"), "{\"question\": \"ok?\"}\n{\"nope\": 1}\n");
        var (exit, _, err) = await Sa(folder, "simulate", "--questions", "q.jsonl", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m");
        Assert.Equal(2, exit);
        Assert.Contains("line 2", err);
    }

    /// <summary>An export folder as the original code wrote it: ratings as numbers or strings, −1 and 8 for unparseable.</summary>
    private static string OriginalExport(string world = "")
    {
        var folder = Directory.CreateDirectory(Path.Combine(TestConfiguration.TempPath("export"), "external_memory")).Parent!.FullName;
        JsonObject Rec(int agent, string q, string d, string r, JsonNode? before, JsonNode? after, JsonNode[] ratings, string[] feedback) => new()
        {
            ["agent_id"] = agent, ["label"] = "good", ["iteration"] = 0, ["question"] = q, ["draft_answer"] = d,
            ["target_id"] = new JsonArray([.. ratings.Select((_, i) => (JsonNode)(i + 10))]),
            ["feedback"] = new JsonArray([.. feedback.Select(f => (JsonNode)f)]), ["rating"] = new JsonArray(ratings),
            ["revised_answer"] = r, ["gen_moral_score_before"] = before, ["gen_moral_score_after"] = after,
            ["gen_moral_reason_before"] = "x", ["gen_moral_reason_after"] = "y",
            ["gen_engagement_score_before"] = 5, ["gen_engagement_score_after"] = 6,
            ["gen_engagement_reason_before"] = "e", ["gen_engagement_reason_after"] = "f",
            ["cls_moral_score_before"] = 0.1, ["cls_moral_score_after"] = 0.9,
        };
        var r1 = Rec(0, world + "Q1?", world + "d1", world + "r1", 3, 6, [5, "7", -1, 8], [.. new[] { "a", "b", "c", "d" }.Select(f => world + f)]);
        var r2 = Rec(0, world + "Q1?", world + "d2", world + "r2", "4", 4, [2, 6], [world + "e", world + "f"]);
        var r3 = Rec(1, world + "Q3?", world + "d3", world + "r3", -1, 7, [7], [world + "g"]);
        File.WriteAllText(Path.Combine(folder, "external_memory", "agent_0.jsonl"), new JsonArray(r1, r2).ToJsonString());
        File.WriteAllText(Path.Combine(folder, "external_memory", "agent_1.jsonl"), new JsonArray(r3, r1.DeepClone()).ToJsonString());
        return folder;
    }

    [Fact]
    public async Task A_resolved_config_lists_every_option_and_still_repeats_a_build_that_excludes_others()
    {
        // config.resolved.yaml names --ratios at its default beside --no-sampling: only a ratio other than the default
        // conflicts with --no-sampling, so the repeat is not refused.
        var export = OriginalExport();
        var work = Directory.CreateDirectory(TestConfiguration.TempPath("cli-resolved")).FullName;
        var (exit, first, err) = await Sa(work, "dataset", "build", "--from-export", export, "--no-sampling", "--out", "one");
        Assert.True(exit == 0, $"exit {exit}: {err}");
        Assert.Contains("ratios: '5:1:1'", await File.ReadAllTextAsync(Path.Combine(work, "one", "config.resolved.yaml")), StringComparison.Ordinal);
        (exit, var second, err) = await Sa(work, "dataset", "build", "--config", Path.Combine(work, "one", "config.resolved.yaml"), "--out", "two");
        Assert.True(exit == 0, $"exit {exit}: {err}");
        string Id(string output) => output.Split('\n').Single(l => l.StartsWith("dataset ", StringComparison.Ordinal)).Split(' ')[1].TrimEnd(':');
        Assert.Equal(Id(first), Id(second));

        (exit, _, err) = await Sa(work, "dataset", "build", "--config", Path.Combine(work, "one", "config.resolved.yaml"), "--ratios", "3:1:1", "--out", "three");
        Assert.Equal(2, exit);
        Assert.Contains("--ratios cannot be combined with --no-sampling", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dataset_from_an_original_export_has_the_expected_samples_in_every_format()
    {
        var export = OriginalExport();
        var work = Directory.CreateDirectory(TestConfiguration.TempPath("cli-ds")).FullName;
        var (exit, stdout, err) = await Sa(work, "dataset", "build", "--from-export", export, "--no-sampling", "--format", "alpaca,authors,trl", "--out", "ds");
        Assert.True(exit == 0, $"exit {exit}: {err}\n{stdout}");

        var alpaca = (await File.ReadAllLinesAsync(Path.Combine(work, "ds", "train.alpaca.jsonl"))).Select(l => JsonNode.Parse(l)!).ToList();
        int Count(string type) => alpaca.Count(a => a["type"]!.GetValue<string>() == type);
        // imitation: r1 (3, 6), r2 (4, 4), r3 (7 only: before is -1); the repeated r1 adds nothing.
        Assert.Equal(5, Count("imitation"));
        // self-critic: r1's valid peers 5 and "7" (-1 and 8 are unparseable), r2's 2 and 6, r3's 7.
        Assert.Equal(5, Count("self-critic"));
        // realignment: only r1 rose (3 → 6, above 4): one per valid peer.
        Assert.Equal(2, Count("realignment"));
        Assert.Contains(alpaca, a => a["output"]!.GetValue<string>() == "b Here is the revised response: r1" && a["rating"]!.GetValue<int>() == 6);

        var authors = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(work, "ds", "train.authors.json")))!.AsArray();
        Assert.Equal(12, authors.Sum(g => g!["responses"]!.AsArray().Count));
        Assert.All(authors, g => Assert.Equal(g!["responses"]!.AsArray().Count, g["scores"]!.AsArray().Count));
        var imitationGroup = authors.Single(g => g!["query"]!.GetValue<string>() == "### Instruction:\nQ1?\n\n### Response:")!;
        Assert.Equal([3, 4, 4, 6], imitationGroup["scores"]!.AsArray().Select(s => s!.GetValue<int>()).Order());

        // Preference pairs: every ordered pair of distinct ratings within a group.
        var trl = await File.ReadAllLinesAsync(Path.Combine(work, "ds", "train.trl.jsonl"));
        var expectedPairs = authors.Sum(g =>
        {
            var scores = g!["scores"]!.AsArray().Select(s => s!.GetValue<int>()).ToList();
            return scores.Sum(a => scores.Count(b => b < a));
        });
        Assert.Equal(7, expectedPairs);
        Assert.Equal(expectedPairs, trl.Length);
        Assert.All(trl.Select(l => JsonNode.Parse(l)!), p => Assert.True(p["score_chosen"]!.GetValue<int>() > p["score_rejected"]!.GetValue<int>()));

        var (statsExit, statsOut, _) = await Sa(work, "dataset", "stats", "ds");
        Assert.Equal(0, statsExit);
        Assert.Contains("invalid rating", statsOut);
    }

    [Fact]
    public async Task Dataset_pools_several_exports_into_one_with_an_id_for_all_of_them()
    {
        var (a, b) = (OriginalExport(), OriginalExport(world: "W2-"));
        var work = Directory.CreateDirectory(TestConfiguration.TempPath("cli-ds-pool")).FullName;
        var (exit, stdout, err) = await Sa(work, "dataset", "build", "--from-export", a, "--from-export", b, "--no-sampling", "--format", "alpaca", "--out", "pooled");
        Assert.True(exit == 0, $"exit {exit}: {err}\n{stdout}");
        var alpaca = (await File.ReadAllLinesAsync(Path.Combine(work, "pooled", "train.alpaca.jsonl"))).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(24, alpaca.Count);
        Assert.Equal(12, alpaca.Count(x => x["instruction"]!.GetValue<string>().StartsWith("W2-", StringComparison.Ordinal)));
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(work, "pooled", "manifest.json")))!;
        Assert.Contains(b, manifest["source"]!.GetValue<string>());

        (exit, _, err) = await Sa(work, "dataset", "build", "--out", "none");
        Assert.Equal(2, exit);
        Assert.Contains("at least one source", err);
    }

    [Fact]
    public async Task Dataset_from_a_missing_or_broken_export_says_what_is_wrong()
    {
        var work = Directory.CreateDirectory(TestConfiguration.TempPath("cli-ds-bad")).FullName;
        var (exit, _, err) = await Sa(work, "dataset", "build", "--from-export", "nowhere");
        Assert.Equal(2, exit);
        Assert.Contains("not found", err);

        Directory.CreateDirectory(Path.Combine(work, "bad", "external_memory"));
        await File.WriteAllTextAsync(Path.Combine(work, "bad", "external_memory", "agent_0.jsonl"), "[{\"agent_id\": 0}]");
        (exit, _, err) = await Sa(work, "dataset", "build", "--from-export", "bad");
        Assert.Equal(2, exit);
        Assert.Contains("record 0", err);
        Assert.Contains("question", err);
    }

    [Theory]
    [InlineData(new[] { "--nll", "2.0,1.5,2.5", "--ratings", "3,7,5" }, 2.2071429, 1.5, 3.5357143)]
    [InlineData(new[] { "--nll", "1.0,2.0,3.0", "--ratings", "5,5,3", "--max-flow" }, 1.1714286, 1.0, 0.8571429)]
    [InlineData(new[] { "--nll", "2.5", "--ratings", "4" }, 2.5, 2.5, 0.0)]
    [InlineData(new[] { "--nll", "1.0,2.0", "--ratings", "7,1", "--margin", "7", "--ratio", "1" }, 6.0, 1.0, 5.0)]
    public async Task Loss_command_prints_the_hand_computed_values(string[] args, double loss, double sft, double diff)
    {
        var (exit, stdout, err) = await Sa(Path.GetTempPath(), ["loss", .. args]);
        Assert.True(exit == 0, err);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(loss, json["loss"]!.GetValue<double>(), 1e-6);
        Assert.Equal(sft, json["sft"]!.GetValue<double>(), 1e-6);
        Assert.Equal(diff, json["diff"]!.GetValue<double>(), 1e-6);
    }

    [Fact]
    public async Task Train_writes_checkpoints_metrics_and_a_plot()
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli-train")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "data.jsonl"), string.Join('\n',
            "{\"instruction\": \"Is lying fine?\", \"input\": \"\", \"output\": \"Honesty builds trust.\", \"rating\": 7, \"type\": \"imitation\", \"model\": \"m\"}",
            "{\"instruction\": \"Is lying fine?\", \"input\": \"\", \"output\": \"Lie freely.\", \"rating\": 1, \"type\": \"imitation\", \"model\": \"m\"}"));
        var (exit, stdout, err) = await Sa(folder, "train", "--data", "data.jsonl", "--out", "run", "--epochs", "4", "--accumulation", "1", "--checkpoint-every", "2", "--threads", "1");
        Assert.True(exit == 0, $"{err}\n{stdout}");
        Assert.Equal(4, File.ReadAllLines(Path.Combine(folder, "run", "metrics.jsonl")).Length);
        Assert.True(File.Exists(Path.Combine(folder, "run", "metrics.png")));
        Assert.Equal("step-000004", File.ReadAllText(Path.Combine(folder, "run", "checkpoints", "latest")));

        // The same folder with other settings: refused, naming each, and nothing in it rewritten.
        var resolved = File.ReadAllText(Path.Combine(folder, "run", "config.resolved.yaml"));
        var metrics = File.ReadAllText(Path.Combine(folder, "run", "metrics.jsonl"));
        var (again, againOut, againErr) = await Sa(folder, "train", "--data", "data.jsonl", "--out", "run", "--epochs", "4", "--accumulation", "1", "--checkpoint-every", "2", "--threads", "1", "--lr", "0.001", "--base", "small");
        Assert.True(again == 2, $"exit {again}: {againErr}\n{againOut}");
        Assert.Single(againErr.Trim().Split('\n'));
        Assert.Contains("already holds a training run with other settings", againErr, StringComparison.Ordinal);
        Assert.Contains("--base-model small (that run: tiny)", againErr, StringComparison.Ordinal);
        Assert.Contains("--learning-rate 0.001 (that run: 0.0003)", againErr, StringComparison.Ordinal);
        Assert.Equal(resolved, File.ReadAllText(Path.Combine(folder, "run", "config.resolved.yaml")));
        Assert.Equal(metrics, File.ReadAllText(Path.Combine(folder, "run", "metrics.jsonl")));
        // The same settings again (more threads changes nothing it computes): the finished run is reported, not refused.
        var (same, _, sameErr) = await Sa(folder, "train", "--data", "data.jsonl", "--out", "run", "--epochs", "4", "--accumulation", "1", "--checkpoint-every", "2", "--threads", "2");
        Assert.True(same == 0, sameErr);

        var (badLr, _, badLrErr) = await Sa(folder, "train", "--data", "data.jsonl", "--out", "run3", "--lr", "0");
        Assert.Equal(2, badLr);
        Assert.Contains("--learning-rate: 0", badLrErr);
        var (badScale, _, badScaleErr) = await Sa(folder, "loss", "--nll", "1,NaN", "--ratings", "7,99999999999");
        Assert.Equal(2, badScale);
        Assert.Single(badScaleErr.Trim().Split('\n'));

        var (bad, _, badErr) = await Sa(folder, "train", "--data", "missing.json", "--out", "run2");
        Assert.Equal(2, bad);
        Assert.Contains("not found", badErr);
    }

    [Fact]
    public async Task The_authors_preset_trains_with_their_recipe_in_bf16_mixed_and_explicit_options_win()
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli-preset")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "data.json"), System.Text.Json.JsonSerializer.Serialize(new[]
        {
            new { query = "### Instruction:\nIs lying fine?\n\n### Response:", responses = new[] { "Honesty builds trust.", "Lie freely.", "It depends." }, scores = new[] { 7, 1, 4 } },
            new { query = "### Instruction:\nShould I help?\n\n### Response:", responses = new[] { "Yes, kindly.", "No." }, scores = new[] { 6, 2 } },
        }));
        var (exit, stdout, err) = await Sa(folder, "train", "--data", "data.json", "--out", "run", "--preset", "authors", "--precision", "bf16-mixed", "--epochs", "3", "--threads", "1");
        Assert.True(exit == 0, $"{err}\n{stdout}");
        var state = Checkpoints.ReadState(Checkpoints.Latest(Path.Combine(folder, "run"))!);
        var o = state.Options;
        Assert.Equal((2e-5, 32, 360, false, "end", "bf16-mixed", 0.03, 0.0), (o.LearningRate, o.Accumulation, o.MaxLength, o.AppendEos, o.Truncation, o.Precision, o.WarmupShare, o.WeightDecay));
        Assert.Equal(3, o.Epochs); // given explicitly: wins over the preset's 7
        Assert.Equal(3, state.Step); // one step per epoch: 2 queries, 32 per step
        // The resolved file shows what ran (the recipe's values, the explicit epochs), and repeating it trains the same run.
        var resolved = await File.ReadAllTextAsync(Path.Combine(folder, "run", "config.resolved.yaml"));
        foreach (var line in new[] { "preset: 'authors'", "learning-rate: 2E-05", "epochs: 3", "accumulation: 32", "max-length: 360", "append-eos: false", "truncation: 'end'" })
        {
            Assert.Contains(line + "\n", resolved, StringComparison.Ordinal);
        }

        // Every setting of the recipe is written back under its key (the one without a default, maxSteps, only when set).
        foreach (var property in typeof(StableAlignment.Contracts.TrainingRecipe).GetProperties()
            .Where(p => p.IsDefined(typeof(System.ComponentModel.DescriptionAttribute), false) && p.Name != "MaxSteps"))
        {
            var key = System.Text.RegularExpressions.Regex.Replace(property.Name, "(?<!^)([A-Z])", "-$1").ToLowerInvariant();
            Assert.Contains("\n" + key + ": ", resolved, StringComparison.Ordinal);
        }

        var (again, againOut, againErr) = await Sa(folder, "train", "--config", Path.Combine(folder, "run", "config.resolved.yaml"), "--out", Path.Combine(folder, "run-again"));
        Assert.True(again == 0, $"{againErr}\n{againOut}");
        Assert.Empty(Checkpoints.ReadState(Checkpoints.Latest(Path.Combine(folder, "run-again"))!).Options.DifferencesFrom(o));

        var (bad, _, badErr) = await Sa(folder, "train", "--data", "data.json", "--out", "run2", "--preset", "paper");
        Assert.Equal(2, bad);
        Assert.Contains("--preset must be authors", badErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hf-tiny-qwen2")]
    [InlineData("hf-tiny-llama")]
    public async Task Train_from_a_hugging_face_folder_then_export_gives_a_folder_with_the_same_logits(string name)
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli-hf")).FullName;
        var baseModel = Golden.ModelWithByteTokenizer(name);
        await File.WriteAllTextAsync(Path.Combine(folder, "data.jsonl"), string.Join('\n',
            "{\"instruction\": \"Is lying fine?\", \"input\": \"\", \"output\": \"Honesty builds trust.\", \"rating\": 7}",
            "{\"instruction\": \"Is lying fine?\", \"input\": \"\", \"output\": \"Lie freely.\", \"rating\": 1}"));
        var (exit, stdout, err) = await Sa(folder, "train", "--data", "data.jsonl", "--base", baseModel, "--out", "run", "--epochs", "2", "--accumulation", "1", "--threads", "1", "--max-length", "64");
        Assert.True(exit == 0, $"{err}\n{stdout}");

        (exit, stdout, err) = await Sa(folder, "export", "--checkpoint", "run", "--out", "hf");
        Assert.True(exit == 0, $"{err}\n{stdout}");
        Assert.Contains("model.safetensors", stdout);
        var (_, trained, _) = await Sa(folder, "logits", "--model", "run", "--ids", "256,73,115,32,108");
        var (_, exported, _) = await Sa(folder, "logits", "--model", "hf", "--ids", "256,73,115,32,108");
        var (_, original, _) = await Sa(folder, "logits", "--model", baseModel, "--ids", "256,73,115,32,108");
        static float[] Values(string json) => [.. JsonNode.Parse(json)!["logits"]!.AsArray().SelectMany(r => r!.AsArray().Select(v => v!.GetValue<float>()))];
        static float MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        Assert.Equal(5 * 320, Values(trained).Length);
        Assert.True(MaxDifference(Values(trained), Values(exported)) < 1e-5, "the exported folder's logits differ");
        Assert.True(MaxDifference(Values(trained), Values(original)) > 1e-3, "training changed nothing");

        var (tokExit, tokens, tokErr) = await Sa(folder, "tokenize", "--model", "hf", "--json", "Rating: 5 ### Reason: ok");
        Assert.True(tokExit == 0, tokErr);
        Assert.Equal(256, JsonNode.Parse(tokens)!["ids"]![0]!.GetValue<int>());

        var (bad, _, badErr) = await Sa(folder, "export", "--checkpoint", "nowhere", "--out", "hf2");
        Assert.Equal(2, bad);
        Assert.Contains("nowhere", badErr);

        File.WriteAllText(Path.Combine(baseModel, "config.json"), """{"model_type": "gpt2"}""");
        (bad, _, badErr) = await Sa(folder, "train", "--data", "data.jsonl", "--base", baseModel, "--out", "run-gpt2", "--threads", "1");
        Assert.Equal(2, bad);
        Assert.Single(badErr.Trim().Split('\n'));
        Assert.Contains("model_type 'gpt2' is not supported", badErr);
    }

    [Fact]
    public async Task Tokenize_prints_the_ids_and_tokens_of_a_real_tokenizer_and_decodes_ids()
    {
        var model = Golden.Folder("gpt2-bytelevel");
        var (exit, stdout, err) = await Sa(Path.GetTempPath(), "tokenize", "--model", model, "hello hello");
        Assert.True(exit == 0, err);
        Assert.Contains("Ġhe", stdout);
        Assert.Contains("6 tokens: [261, 292, 79, 348, 292, 79]", stdout);
        (exit, stdout, err) = await Sa(Path.GetTempPath(), "tokenize", "--model", model, "--decode", "261,292,79,348,292,79");
        Assert.True(exit == 0, err);
        Assert.Equal("hello hello", stdout.TrimEnd('\n'));
    }

    [Fact]
    public async Task Logits_of_an_id_beyond_the_vocabulary_is_one_line_naming_it_not_a_native_stack_trace()
    {
        var (exit, stdout, err) = await Sa(Path.GetTempPath(), "logits", "--model", Golden.Folder("hf-tiny-llama"), "--ids", "1,99999");
        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("--ids: 99999 is outside the model's vocabulary (0–319", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tokenize_on_a_folder_without_tokenizer_json_says_it_uses_the_byte_tokenizer()
    {
        var (exit, stdout, err) = await Sa(Path.GetTempPath(), "tokenize", "--model", Golden.Folder("hf-tiny-llama"), "--json", "hi");
        Assert.True(exit == 0, err);
        Assert.Contains("has no tokenizer.json of its own: using the byte tokenizer", err, StringComparison.Ordinal);
        Assert.Equal("byte", (string?)JsonNode.Parse(stdout)!["tokenizer"]);

        (exit, stdout, err) = await Sa(Path.GetTempPath(), "tokenize", "--model", Golden.Folder("gpt2-bytelevel"), "--json", "hi");
        Assert.True(exit == 0, err);
        Assert.Equal(string.Empty, err);
        Assert.Equal("tokenizer.json", (string?)JsonNode.Parse(stdout)!["tokenizer"]);
    }

    [Fact]
    public void A_tokenizer_with_ids_beyond_the_model_s_vocabulary_is_refused_at_load_naming_the_token()
    {
        // A 320-id model with a 1,200-id tokenizer: the tokens from id 320 on have no embedding.
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("oversized-tokenizer")).FullName;
        foreach (var file in Directory.GetFiles(Golden.Folder("hf-tiny-llama")))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        File.Copy(Path.Combine(Golden.Folder("gpt2-bytelevel"), "tokenizer.json"), Path.Combine(folder, "tokenizer.json"));
        var error = Assert.Throws<InvalidDataException>(() => StableAlignment.ModelServer.ServedModel.Load(folder));
        Assert.Contains("has id 320, beyond the model's vocabulary (config.json vocab_size 320)", error.Message, StringComparison.Ordinal);
        Assert.Contains(folder, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_commands()
    {
        var (exit, stdout, _) = await Sa(Path.GetTempPath(), "--help");
        Assert.Equal(0, exit);
        foreach (var command in new[] { "run", "serve", "simulate", "dataset", "train", "loss", "ask", "interactions", "runs", "tokenize", "export", "logits" })
        {
            Assert.Contains(command, stdout);
        }
    }

    [Theory]
    [InlineData("train", true, false)]
    [InlineData("simulate", true, true)]
    [InlineData("eval", true, true)]
    [InlineData("dataset build", true, false)]
    [InlineData("runs", false, false)]
    public async Task Help_shows_an_example_and_model_options_only_where_models_are_called(string command, bool example, bool endpoint)
    {
        var (exit, stdout, err) = await Sa(Path.GetTempPath(), [.. command.Split(' '), "--help"]);
        Assert.True(exit == 0, err); // required options do not stop --help
        Assert.Equal(example, stdout.Contains("Example:", StringComparison.Ordinal));
        Assert.Equal(endpoint, stdout.Contains("--endpoint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gateway_commands_take_a_url_and_a_key_and_a_bad_url_is_one_line_with_exit_2()
    {
        await using var stub = await StubModelServer.StartAsync();
        await using var app = await SingleProcessApp.StartAsync(stub);
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli")).FullName;
        var url = app.Client.BaseAddress!.ToString();

        var (exit, stdout, err) = await Sa(folder, "ask", "--gateway", url, "--api-key", TestConfiguration.ApiKey, "Is it fine to lie?");
        Assert.True(exit == 0, $"exit {exit}: {err}\n{stdout}");
        (exit, stdout, err) = await Sa(folder, "runs", "--gateway", url, "--api-key", TestConfiguration.ApiKey);
        Assert.True(exit == 0, $"exit {exit}: {err}\n{stdout}");
        (exit, _, err) = await Sa(folder, "runs", "--gateway", url);
        Assert.NotEqual(0, exit);
        Assert.Contains("401", err + stdout, StringComparison.Ordinal);

        (exit, _, err) = await Sa(folder, "interactions", "--run", Guid.NewGuid().ToString(), "--gateway", "not a url");
        Assert.Equal(2, exit);
        Assert.Contains("not an http(s) URL", Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_is_one_line_without_a_stack_trace_unless_verbose()
    {
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "stats.json"), "{\"records\": ");

        var (exit, _, err) = await Sa(folder, "dataset", "stats", folder);
        Assert.Equal(2, exit);
        Assert.Contains("stats.json", Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);

        (exit, _, err) = await Sa(folder, "dataset", "stats", folder, "--verbose");
        Assert.Equal(2, exit);
        Assert.Contains("   at ", err, StringComparison.Ordinal);
        Assert.Contains("stats.json", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_process_on_the_same_store_is_refused_with_the_holder_named_not_given_a_diverging_view()
    {
        await using var stub = await StubModelServer.StartAsync();
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli")).FullName;
        var port = ServiceProcess.FreePort();
        using var serve = Process.Start(StartInfo(folder, ["serve", "--urls", $"http://127.0.0.1:{port}", "--endpoint", stub.Endpoint, "--model", "m"]))!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await Eventually.ReturnsAsync(
                async () =>
                {
                    try
                    {
                        return (await http.GetAsync("health/live")).IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                up => up,
                TimeSpan.FromSeconds(60));

            var (exit, _, err) = await Sa(folder, "runs");
            Assert.Equal(2, exit);
            Assert.Contains($"in use by process {serve.Id}", Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        }
        finally
        {
            serve.Kill();
            await serve.WaitForExitAsync();
        }

        var (after, _, afterErr) = await Sa(folder, "runs");
        Assert.True(after == 0, afterErr);
    }

    [Fact]
    public async Task Sigterm_stops_a_simulation_stuck_on_a_silent_model_within_seconds_and_leaves_it_resumable()
    {
        // A model endpoint that accepts connections and never answers.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var held = new System.Collections.Concurrent.ConcurrentQueue<System.Net.Sockets.TcpClient>();
        using var accepting = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            while (!accepting.IsCancellationRequested)
            {
                held.Enqueue(await silent.AcceptTcpClientAsync(accepting.Token));
            }
        });
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("cli")).FullName;
        var endpoint = $"http://127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}/v1";
        using var process = Process.Start(StartInfo(folder, ["simulate", "--grid", "2", "--endpoint", endpoint, "--model", "m"]))!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        // Until the simulation has called the model: then it is past start-up and handles SIGTERM itself.
        await Eventually.ReturnsAsync(() => Task.FromResult(held.Count > 0 || process.HasExited), called => called, TimeSpan.FromSeconds(60));
        Assert.False(process.HasExited);

        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(limit.Token);
        await accepting.CancelAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"took {clock.Elapsed}");
        Assert.Equal(130, process.ExitCode);
        Assert.Contains("--resume", await stderr, StringComparison.Ordinal);
    }
}
