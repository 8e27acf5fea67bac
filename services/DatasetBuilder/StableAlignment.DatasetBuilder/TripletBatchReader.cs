using System.Runtime.CompilerServices;
using System.Text.Json;

namespace StableAlignment.DatasetBuilder;

/// <summary>Reads the groups of an <c>authors</c> file back one at a time and cuts them into triplet batches.</summary>
public static class TripletBatchReader
{
    private sealed record AuthorsGroup(string Query, List<string> Responses, List<int> Scores, List<string> Models);

    public static async IAsyncEnumerable<TripletGroup> ReadAsync(string authorsFile, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var stream = File.OpenRead(authorsFile);
        await foreach (var g in JsonSerializer.DeserializeAsyncEnumerable<AuthorsGroup>(stream, DatasetBuild.Json, ct))
        {
            yield return new TripletGroup { Query = g!.Query, Responses = g.Responses, Scores = g.Scores, Models = g.Models };
        }
    }

    public static int BatchCount(long groups, int batchSize) => (int)((groups + batchSize - 1) / batchSize);
}
