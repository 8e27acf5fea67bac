using StableAlignment.Trainer;

namespace StableAlignment.Tests;

/// <summary>A training job waits for its dataset without a timer: the arrival wakes it.</summary>
public sealed class DatasetArrivalsTests
{
    private static readonly DatasetId Id = DatasetId.Parse("ds-arrivals");

    [Fact]
    public async Task A_waiting_job_is_woken_by_the_arrival_and_finds_the_data_then()
    {
        var arrivals = new DatasetArrivals();
        string? data = null;
        var looks = 0;
        var wait = arrivals.WaitAsync(Id, () => { looks++; return data; }, TimeSpan.FromHours(1), TestContext.Current.CancellationToken);
        Assert.False(wait.IsCompleted);
        var before = looks;

        data = "train.authors.json";
        arrivals.Arrived(Id);

        Assert.Equal("train.authors.json", await wait);
        Assert.Equal(before + 1, looks); // one look per arrival, none on a timer
    }

    [Fact]
    public async Task Data_already_there_is_returned_at_once_and_an_arrival_for_another_dataset_does_not_wake_the_job()
    {
        var arrivals = new DatasetArrivals();
        Assert.Equal("here", await arrivals.WaitAsync(Id, () => "here", TimeSpan.FromHours(1), TestContext.Current.CancellationToken));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var looks = 0;
        var wait = arrivals.WaitAsync(Id, () => { looks++; return null; }, TimeSpan.FromHours(1), stop.Token);
        arrivals.Arrived(DatasetId.Parse("ds-other"));
        Assert.False(wait.IsCompleted);
        Assert.Equal(1, looks);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }

    [Fact]
    public async Task A_dataset_that_never_arrives_gives_null_after_the_timeout()
    {
        var arrivals = new DatasetArrivals();
        Assert.Null(await arrivals.WaitAsync(Id, () => null, TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken));
    }
}
