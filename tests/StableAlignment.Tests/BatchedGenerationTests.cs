namespace StableAlignment.Tests;

public class BatchedGenerationTests
{
    private static readonly string[] Prompts =
    [
        "Is it fine to read a friend's diary?",
        "Hi",
        "A much longer question about whether one may keep a wallet found in the street, with many words in it.",
        "Should I tell my neighbour?",
    ];

    // The texts below are compared exactly: greedy decoding of a seeded model is deterministic run to run because the
    // test process pins libtorch's thread count (TorchThreads); what the tests check is that padding and batching never
    // change a decision.
    private static LlamaForCausalLM Model()
    {
        TorchRuntime.Initialize(0);
        return new LlamaForCausalLM(LlamaConfig.Tiny, seed: 11);
    }

    [Fact]
    public void Greedy_rows_of_a_padded_batch_decode_exactly_as_each_prompt_alone()
    {
        using var model = Model();
        var tokenizer = new ByteTokenizer();
        var batch = BatchedGeneration.Generate(model, tokenizer, [.. Prompts.Select(p => new BatchRequest(tokenizer.Encode(p), Temperature: 0, MaxNewTokens: 24))]);
        for (var i = 0; i < Prompts.Length; i++)
        {
            var alone = Generation.Generate(model, tokenizer, Prompts[i], new GenerationOptions(Temperature: 0, MaxNewTokens: 24));
            Assert.Equal(alone.Text, batch[i].Text);
            Assert.Equal(alone.Tokens, batch[i].CompletionTokens);
        }
    }

    [Fact]
    public void Rows_that_join_a_running_batch_mid_flight_decode_exactly_as_alone_and_so_do_the_rows_already_running()
    {
        using var model = Model();
        var tokenizer = new ByteTokenizer();
        using var batch = new DecodeBatch(model, tokenizer);
        DecodeRow Row(int i, int tokens) => new(new BatchRequest(tokenizer.Encode(Prompts[i]), Temperature: 0, MaxNewTokens: tokens));

        // The long prompt starts alone; after 5 steps a short one joins (its cache is padded to the running one), after
        // 9 more two others join, one of them longer than everything in the cache so far.
        var rows = new List<(int Prompt, int Tokens, DecodeRow Row)> { (2, 40, Row(2, 40)) };
        Assert.Empty(batch.Join([rows[0].Row]));
        var finished = new List<DecodeRow>();
        for (var step = 0; batch.Count > 0; step++)
        {
            if (step == 5)
            {
                rows.Add((1, 24, Row(1, 24)));
                Assert.Empty(batch.Join([rows[^1].Row]));
            }

            if (step == 14)
            {
                rows.Add((0, 12, Row(0, 12)));
                rows.Add((3, 30, Row(3, 30)));
                Assert.Empty(batch.Join([rows[^2].Row, rows[^1].Row]));
            }

            finished.AddRange(batch.Step());
        }

        Assert.Equal(4, finished.Count);
        foreach (var (prompt, tokens, row) in rows)
        {
            var alone = Generation.Generate(model, tokenizer, Prompts[prompt], new GenerationOptions(Temperature: 0, MaxNewTokens: tokens));
            Assert.Equal(alone.Text, row.Result!.Text);
            Assert.Equal(alone.Tokens, row.Result.CompletionTokens);
        }
    }

    [Fact]
    public void A_row_whose_caller_went_away_leaves_the_batch_at_the_next_step_and_the_others_decode_as_before()
    {
        using var model = Model();
        var tokenizer = new ByteTokenizer();
        using var gone = new CancellationTokenSource();
        var results = BatchedGeneration.Generate(model, tokenizer,
            [
                new BatchRequest(tokenizer.Encode(Prompts[0]), Temperature: 0, MaxNewTokens: 40, Cancel: gone.Token),
                new BatchRequest(tokenizer.Encode(Prompts[1]), Temperature: 0, MaxNewTokens: 24),
            ],
            (row, _) =>
            {
                if (row == 0)
                {
                    gone.Cancel(); // the client disconnects after its first piece of text
                }
            });

        Assert.True(results[0].CompletionTokens <= 2, $"the abandoned row decoded {results[0].CompletionTokens} tokens");
        var alone = Generation.Generate(model, tokenizer, Prompts[1], new GenerationOptions(Temperature: 0, MaxNewTokens: 24));
        Assert.Equal(alone.Text, results[1].Text);
    }

    [Fact]
    public void Rows_end_on_their_own_limits_and_stop_strings_and_stream_the_text_they_return()
    {
        using var model = Model();
        var tokenizer = new ByteTokenizer();
        var free = BatchedGeneration.Generate(model, tokenizer, [new BatchRequest(tokenizer.Encode(Prompts[0]), Temperature: 0, MaxNewTokens: 30)])[0];
        Assert.True(free.Text.Length >= 6, $"the model said too little to test a stop string: '{free.Text}'");
        var stop = free.Text.Substring(3, 2);
        var streamed = new Dictionary<int, string>();
        var results = BatchedGeneration.Generate(model, tokenizer,
            [
                new BatchRequest(tokenizer.Encode(Prompts[0]), Temperature: 0, MaxNewTokens: 30, Stop: [stop]),
                new BatchRequest(tokenizer.Encode(Prompts[1]), Temperature: 0, MaxNewTokens: 5),
                new BatchRequest(tokenizer.Encode(Prompts[2]), Temperature: 0.8, TopP: 0.9, MaxNewTokens: 12, Seed: 3),
            ],
            (row, text) => streamed[row] = streamed.GetValueOrDefault(row, string.Empty) + text);

        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], results[0].Text);
        Assert.Equal(FinishReason.Stop, results[0].FinishReason);
        Assert.Equal(5, results[1].CompletionTokens);
        Assert.Equal(FinishReason.Length, results[1].FinishReason);
        Assert.True(results[2].CompletionTokens <= 12);
        for (var i = 0; i < results.Count; i++)
        {
            Assert.Equal(results[i].Text, streamed.GetValueOrDefault(i, string.Empty));
            Assert.Equal(tokenizer.Start.Count + tokenizer.Encode(Prompts[i]).Length, results[i].PromptTokens);
        }
    }

    [Fact]
    public void The_same_seed_draws_the_same_sample_whatever_else_is_in_the_batch()
    {
        using var model = Model();
        var tokenizer = new ByteTokenizer();
        var request = new BatchRequest(tokenizer.Encode(Prompts[3]), Temperature: 1.0, TopP: 0.95, MaxNewTokens: 16, Seed: 42);
        var alone = BatchedGeneration.Generate(model, tokenizer, [request])[0];
        var together = BatchedGeneration.Generate(model, tokenizer, [new BatchRequest(tokenizer.Encode(Prompts[2]), MaxNewTokens: 20, Seed: 1), request])[1];
        Assert.Equal(alone.Text, together.Text);
    }
}
