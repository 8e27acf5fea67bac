using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace StableAlignment.Gateway;

/// <summary>Body of <c>POST /api/questions</c>: one <c>text</c> or a list of <c>questions</c>, optionally into an existing run.</summary>
public sealed record PostQuestionsRequest
{
    public Guid? RunId { get; init; }
    public string? Text { get; init; }
    public List<string>? Questions { get; init; }
}

public sealed record PostQuestionsResponse(Guid RunId, IReadOnlyList<Guid> QuestionIds);

public static class QuestionsApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IServiceCollection AddGatewayCore(this IServiceCollection services)
    {
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return services.AddGatewaySecurity();
    }

    /// <summary><c>POST /api/questions</c>: validates and publishes one <see cref="QuestionPosed"/> per question (202).</summary>
    public static IEndpointRouteBuilder MapQuestionsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/questions", async (HttpRequest request, IPublishEndpoint bus, IOptions<GatewayOptions> options, CancellationToken ct) =>
        {
            PostQuestionsRequest? body;
            try
            {
                body = await JsonSerializer.DeserializeAsync<PostQuestionsRequest>(request.Body, Json, ct);
            }
            catch (JsonException e)
            {
                return BadRequest("Malformed JSON", e.Message);
            }

            var texts = new List<string>();
            if (body?.Text is { } single)
            {
                texts.Add(single);
            }

            texts.AddRange(body?.Questions ?? []);
            if (texts.Count == 0)
            {
                return BadRequest("No question", "Send {\"text\": \"...\"} or {\"questions\": [\"...\"]}.");
            }

            if (texts.Count > options.Value.MaxQuestionsPerRequest)
            {
                return BadRequest("Too many questions", $"At most {options.Value.MaxQuestionsPerRequest} questions per request.");
            }

            for (var i = 0; i < texts.Count; i++)
            {
                if (QuestionRules.Problem(texts[i]) is { } problem)
                {
                    return BadRequest("Invalid question", $"Question {i}: {problem}");
                }
            }

            var runId = body!.RunId is { } given && given != Guid.Empty ? given : NewId.NextGuid();
            var messages = texts.Select(t => new QuestionPosed
            {
                RunId = runId, QuestionId = NewId.NextGuid(), Text = t, PostedAt = DateTime.UtcNow,
            }).ToList();
            await bus.PublishBatch(messages, ct);
            return Results.Accepted(
                $"/api/memory/interactions?runId={runId}",
                new PostQuestionsResponse(runId, [.. messages.Select(m => m.QuestionId)]));
        });
        return app;
    }

    private static IResult BadRequest(string title, string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: detail);
}
