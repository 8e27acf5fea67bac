namespace StableAlignment.Tests;

/// <summary>
/// make test's totals (infra/TestTotals) over real dotnet test outputs (tests/data/test-totals): a crashed or hung
/// test host, a missing results file, a non-zero exit without a failed result and an aborted result each count as a
/// failure; a clean run counts its passes and its explicit skip.
/// </summary>
public sealed class TestTotalsTests
{
    private static async Task<(int Passed, int Failed, int Skipped, string Output)> TotalsAsync(string fixture, string? exitCode = null, Func<string, string>? editTrx = null, bool dropTrx = false)
    {
        var results = Directory.CreateDirectory(TestConfiguration.TempPath("totals")).FullName;
        var source = RepositoryRoot.Combine("tests", "data", "test-totals", fixture);
        var log = Path.Combine(results, "Crash.Tests.log");
        File.Copy(Path.Combine(source, "Crash.Tests.log"), log);
        if (!dropTrx)
        {
            var trx = await File.ReadAllTextAsync(Path.Combine(source, "Crash.Tests.trx"));
            await File.WriteAllTextAsync(Path.Combine(results, "Crash.Tests.trx"), editTrx?.Invoke(trx) ?? trx);
        }

        var code = exitCode ?? (await File.ReadAllTextAsync(Path.Combine(source, "exit-code"))).Trim();
        await File.WriteAllTextAsync(Path.Combine(results, "projects.tsv"), $"Crash.Tests\t{code}\t{log}\n");
        var output = new StringWriter();
        var totals = StableAlignment.TestTotals.Totals.Read(results, output);
        return (totals.Passed, totals.Failed, totals.Skipped, output.ToString());
    }

    [Fact]
    public async Task A_clean_run_counts_its_passes_and_its_explicit_skip()
    {
        var (passed, failed, skipped, output) = await TotalsAsync("none");
        Assert.Equal((2, 0, 1), (passed, failed, skipped));
        Assert.Contains("skipped: Crash.Tests.CrashTests.Skipped: an explicit skip", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_that_crashed_is_a_failure_naming_the_test_although_dotnet_test_printed_no_failure()
    {
        var (passed, failed, _, output) = await TotalsAsync("crash");
        Assert.Equal((1, 1), (passed, failed));
        Assert.Contains("FAILED: Crash.Tests.CrashTests.Crashes_the_host: crashed the test host", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hung_test_stopped_by_the_hang_timeout_is_a_failure_naming_it()
    {
        var (_, failed, _, output) = await TotalsAsync("hang");
        Assert.Equal(1, failed);
        Assert.Contains("FAILED: Crash.Tests.CrashTests.Crashes_the_host: hung", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_results_file_or_a_non_zero_exit_without_a_failed_result_is_a_failure()
    {
        var missing = await TotalsAsync("none", dropTrx: true);
        Assert.Equal((0, 1), (missing.Passed, missing.Failed));
        Assert.Contains("no results file", missing.Output, StringComparison.Ordinal);

        var exited = await TotalsAsync("none", exitCode: "1");
        Assert.Equal((2, 1), (exited.Passed, exited.Failed));
        Assert.Contains("exited 1 though its results show no failure", exited.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_aborted_or_unexplained_not_executed_result_is_a_failure_not_a_skip()
    {
        var aborted = await TotalsAsync("none", editTrx: trx => ReplaceFirst(trx, "outcome=\"Passed\"", "outcome=\"Aborted\""));
        Assert.Equal((1, 1, 1), (aborted.Passed, aborted.Failed, aborted.Skipped));
        Assert.Contains("outcome Aborted", aborted.Output, StringComparison.Ordinal);

        // A NotExecuted result with no skip reason is not an explicit skip.
        var unexplained = await TotalsAsync("none", editTrx: trx => trx.Replace("an explicit skip", "", StringComparison.Ordinal));
        Assert.Equal((2, 1, 0), (unexplained.Passed, unexplained.Failed, unexplained.Skipped));
    }

    private static string ReplaceFirst(string text, string what, string with)
    {
        var at = text.IndexOf(what, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{what}' is not in the fixture");
        return string.Concat(text.AsSpan(0, at), with, text.AsSpan(at + what.Length));
    }
}
