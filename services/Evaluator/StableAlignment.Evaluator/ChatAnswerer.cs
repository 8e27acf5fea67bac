using StableAlignment.Models;

namespace StableAlignment.Evaluator;

public sealed class ChatAnswerer(ChatModel model) : IAnswerer
{
    public string Id => model.ModelId;

    public async Task<(string Text, int Tokens)> AnswerAsync(string question, int sample, CancellationToken ct)
    {
        var reply = await model.ReplyAsync(question, ct);
        return (reply.Text, reply.CompletionTokens);
    }
}
