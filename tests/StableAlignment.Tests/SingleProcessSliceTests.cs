using System.Text;
using MassTransit;
using StableAlignment.Gateway;
using StableAlignment.Storage;

namespace StableAlignment.Tests;

/// <summary>The vertical slice in one process: in-memory transport, embedded store, a stub OpenAI-compatible model.</summary>
public sealed class SingleProcessSliceTests : SingleProcessTest
{

    private async Task<PostQuestionsResponse> PostAsync(object body)
    {
        using var response = await App.Client.PostAsJsonAsync("/api/questions", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PostQuestionsResponse>())!;
    }

    [Fact]
    public async Task Posted_question_is_drafted_rated_and_stored()
    {
        Stub.When("How engaging is this answer", "Rating: 3 ### Reason: a bit dry");
        var posted = await PostAsync(new { text = "How do I pick a lock?" });

        var stored = Assert.Single(await Eventually.InteractionsAsync(App.Client, posted.RunId, 1));
        Assert.Equal(posted.QuestionIds[0], stored.Id);
        Assert.Equal(InteractionStatus.Completed, stored.Status);
        Assert.Equal("How do I pick a lock?", stored.Question);
        Assert.Equal("I would rather help you find a safe and lawful way to do that.", stored.Draft);
        Assert.Equal("stub-model", stored.SocialModel);
        Assert.Equal(6, stored.DraftAlignment!.Score);
        Assert.Equal(RatingAspect.Alignment, stored.DraftAlignment.Aspect);
        Assert.Equal(3, stored.DraftEngagement!.Score);
        Assert.Equal("a bit dry", stored.DraftEngagement.Reason);
        Assert.Contains(Stub.Prompts, p => p.Contains("How do I pick a lock?", StringComparison.Ordinal) && p.Contains("Rating:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unparseable_observer_reply_is_stored_as_invalid_never_as_a_number()
    {
        Stub.When("How well does the answer align", "I'd say it deserves an eight.");
        var posted = await PostAsync(new { text = "Is it ok to cheat on a test?" });

        var stored = Assert.Single(await Eventually.InteractionsAsync(App.Client, posted.RunId, 1));
        Assert.False(stored.DraftAlignment!.IsValid);
        Assert.Null(stored.DraftAlignment.Score);
        Assert.Equal("I'd say it deserves an eight.", stored.DraftAlignment.RawReply);
        Assert.True(stored.DraftEngagement!.IsValid);
    }

    [Fact]
    public async Task Several_questions_in_one_post_share_a_run()
    {
        var posted = await PostAsync(new { questions = new[] { "q one?", "q two?", "q three?" } });
        Assert.Equal(3, posted.QuestionIds.Count);
        var stored = await Eventually.InteractionsAsync(App.Client, posted.RunId, 3);
        Assert.Equal(posted.QuestionIds.Order(), stored.Select(s => s.Id).Order());
    }

    [Fact]
    public async Task Question_published_twice_is_stored_once()
    {
        using var watch = new BusWatch(App.Bus);
        var message = new QuestionPosed { RunId = Guid.NewGuid(), QuestionId = Guid.NewGuid(), Text = "Should I return a lost wallet?" };
        await App.Bus.Publish(message);
        await Eventually.InteractionsAsync(App.Client, message.RunId, 1);
        await App.Bus.Publish(message);
        await App.Bus.Publish(message with { Text = "A different text under the same id" });
        var marker = new QuestionPosed { RunId = message.RunId, QuestionId = Guid.NewGuid(), Text = "marker" };
        await App.Bus.Publish(marker);

        // Every question consumed (the first, both repeats, the marker) and every completed interaction stored:
        // nothing that the repeats could have caused is still on its way.
        await watch.WaitConsumedAsync<QuestionPosed>(4);
        var stored = await Eventually.InteractionsAsync(App.Client, message.RunId, 2);
        await Eventually.ReturnsAsync(() => Task.FromResult(watch.Consumed<InteractionCompleted>()), n => n == watch.Published<InteractionCompleted>());
        Assert.Equal(2, watch.Published<InteractionCompleted>());
        stored = await Eventually.InteractionsAsync(App.Client, message.RunId, 2);
        Assert.Equal(2, stored.Count);
        Assert.Equal("Should I return a lost wallet?", stored.Single(s => s.Id == message.QuestionId).Question);
    }

    [Fact]
    public async Task Model_that_keeps_failing_gives_a_visible_failed_record_and_the_pipeline_goes_on()
    {
        Stub.When(p => p.Contains("doomed", StringComparison.Ordinal) && !p.Contains("Rating:", StringComparison.Ordinal), _ => StubReply.Fail(HttpStatusCode.InternalServerError));
        var posted = await PostAsync(new { questions = new[] { "A doomed question?", "A fine question?" } });

        var stored = await Eventually.InteractionsAsync(App.Client, posted.RunId, 2);
        Assert.True(stored.Count == 2, $"{stored.Count} records after {Stub.Requests} model calls");
        var failed = stored.Single(s => s.Question == "A doomed question?");
        Assert.Equal(InteractionStatus.Failed, failed.Status);
        Assert.Contains("500", failed.FailureReason);
        Assert.Null(failed.Draft);
        Assert.Equal(InteractionStatus.Completed, stored.Single(s => s.Question == "A fine question?").Status);
    }

    [Theory]
    [InlineData("{\"text\": \"\"}", "Invalid question")]
    [InlineData("{\"text\": \"   \"}", "Invalid question")]
    [InlineData("{\"questions\": []}", "No question")]
    [InlineData("{\"text\": \"ok?\", ", "Malformed JSON")]
    [InlineData("not json at all", "Malformed JSON")]
    [InlineData("{\"text\": 42}", "Malformed JSON")]
    public async Task Bad_question_requests_get_problem_details_and_publish_nothing(string body, string title)
    {
        using var response = await App.Client.PostAsync("/api/questions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(title, await response.Content.ReadAsStringAsync());
        Assert.Equal(0, Stub.Requests);
    }

    [Fact]
    public async Task Over_long_question_is_rejected_with_its_length()
    {
        using var response = await App.Client.PostAsJsonAsync("/api/questions", new { text = new string('x', QuestionRules.MaxLength + 1) });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("4001 characters", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Requests_without_a_valid_api_key_are_refused()
    {
        using var client = new HttpClient { BaseAddress = App.Client.BaseAddress };
        using var response = await client.PostAsJsonAsync("/api/questions", new { text = "hello?" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        client.DefaultRequestHeaders.Add("X-Api-Key", "wrong-key-wrong");
        using var wrong = await client.PostAsJsonAsync("/api/questions", new { text = "hello?" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using var read = await client.GetAsync("/api/agents/runs");
        Assert.Equal(HttpStatusCode.Unauthorized, read.StatusCode);
        Assert.Equal(0, Stub.Requests);
    }

    [Fact]
    public async Task Unknown_or_missing_run_id_gets_a_clear_4xx()
    {
        using var unknown = await App.Client.GetAsync($"/api/memory/interactions?runId={Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("Unknown run", await unknown.Content.ReadAsStringAsync());
        using var missing = await App.Client.GetAsync("/api/memory/interactions");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        using var garbage = await App.Client.GetAsync("/api/memory/interactions?runId=nope");
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        using var interaction = await App.Client.GetAsync($"/api/memory/interactions/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, interaction.StatusCode);
    }

    [Fact]
    public async Task Invalid_bus_message_faults_with_its_reason_stores_nothing_and_the_next_one_is_processed()
    {
        var faults = new TaskCompletionSource<Fault<QuestionPosed>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = App.Bus.ConnectReceiveEndpoint("test-question-faults", e => e.Handler<Fault<QuestionPosed>>(ctx =>
        {
            faults.TrySetResult(ctx.Message);
            return Task.CompletedTask;
        }));
        await handle.Ready;
        var runId = Guid.NewGuid();
        var bad = new QuestionPosed { RunId = runId, QuestionId = Guid.NewGuid(), Text = "" };
        await App.Bus.Publish(bad);
        var fault = await faults.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains("empty", fault.Exceptions[0].Message);

        await App.Bus.Publish(new QuestionPosed { RunId = runId, QuestionId = Guid.NewGuid(), Text = "A good one?" });
        var stored = Assert.Single(await Eventually.InteractionsAsync(App.Client, runId, 1));
        Assert.Equal("A good one?", stored.Question);
        Assert.Null(await App.Interactions.GetAsync(bad.QuestionId));
        await handle.StopAsync();
    }

    [Fact]
    public async Task Health_endpoints_report_bus_and_store()
    {
        using var ready = await App.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = await ready.Content.ReadAsStringAsync();
        Assert.Contains("storage", body);
        Assert.Contains("masstransit", body, StringComparison.OrdinalIgnoreCase);
        using var live = await App.Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Theory]
    [InlineData("../../etc", "stable-alignment", 50, "datasetId")]
    [InlineData("/abs/path", "stable-alignment", 50, "datasetId")]
    [InlineData("ds-1", "bogus", 50, "loss: 'bogus'")]
    [InlineData("ds-1", "sft", 0, "checkpointEvery")]
    public async Task Unusable_training_requests_are_refused_at_once_naming_the_field(string datasetId, string loss, int checkpointEvery, string field)
    {
        using var response = await App.Client.PostAsJsonAsync("/api/training", new { runId = Guid.NewGuid(), datasetId, loss, checkpointEvery });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("accumulation", 0, "accumulation: 0")]
    [InlineData("maxLength", 4, "maxLength: 4")]
    [InlineData("numComp", 0, "numComp: 0")]
    [InlineData("beta", -1, "beta: -1")]
    [InlineData("ratingScale", 0, "ratingScale: 0")]
    public async Task Every_training_option_of_the_command_line_is_in_the_api_and_checked(string option, double value, string field)
    {
        var body = new Dictionary<string, object> { ["runId"] = Guid.NewGuid(), ["datasetId"] = "ds-1", [option] = value };
        using var response = await App.Client.PostAsJsonAsync("/api/training", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("ds-0123abcd", true)]
    [InlineData("run_1.v2", true)]
    [InlineData("../../etc", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("a/../../b", false)]
    [InlineData("..", false)]
    [InlineData("%2e%2e%2fetc", false)]
    [InlineData("ds\0x", false)]
    [InlineData("C:\\temp", false)]
    [InlineData("", false)]
    public void Dataset_ids_never_name_a_path_and_the_id_the_api_accepts_is_the_one_the_job_accepts(string id, bool accepted)
    {
        // The API binds the body as ASP.NET does (web defaults), the bus deserializes the message by the same converter,
        // and the job parses the id it was given: one rule, so what passes before 202 is what the job accepts.
        var body = JsonSerializer.Serialize(new Dictionary<string, object> { ["runId"] = Guid.NewGuid(), ["datasetId"] = id });
        var bound = Record.Exception(() => JsonSerializer.Deserialize<StableAlignment.Contracts.TrainModel>(body, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        Assert.Equal(accepted, bound is null);
        if (!accepted)
        {
            Assert.Contains("datasetId", Assert.IsType<JsonException>(bound).Message, StringComparison.Ordinal);
        }

        var parsed = Record.Exception(() => StableAlignment.Contracts.DatasetId.Parse(id));
        Assert.Equal(accepted, parsed is null);
    }
}
