using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;

namespace StableAlignment.TestTotals;

/// <summary>
/// The totals of a <c>make test</c> run, from each test project's TRX file, exit code and console log. RESULTS_DIR
/// holds projects.tsv (one line per project: name, dotnet test's exit code, its console log) and the projects' TRX
/// files (NAME.trx). Writes the bad-input corpus counts, the skipped tests with their reasons and last the failures
/// with their messages.
///
/// Nothing that went wrong can pass as a pass or a skip:
/// - a project whose results file is missing or unreadable counts one failure;
/// - a project whose dotnet test exited non-zero while its results show no failure (a crashed or aborted host) counts one;
/// - a test named by the blame collector (a crash, or a hang stopped by --blame-hang-timeout) counts one;
/// - an outcome other than Passed, Failed or NotExecuted with a skip reason (Aborted, Timeout, …) counts as failed.
/// </summary>
public static partial class Totals
{
    private static readonly XNamespace Trx = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";

    public sealed record Result(int Passed, int Failed, int Skipped);

    public static Result Read(string resultsDirectory, TextWriter output)
    {
        int passed = 0, failed = 0, skipped = 0;
        var corpus = new List<string>();
        var skips = new List<string>();
        var failures = new List<(string Title, string Details)>();
        var listing = Path.Combine(resultsDirectory, "projects.tsv");
        var projects = File.Exists(listing)
            ? File.ReadAllLines(listing).Where(l => l.Trim().Length > 0).Select(l => l.Split('\t')).ToList()
            : [];
        if (projects.Count == 0)
        {
            failures.Add(("no test project ran", ""));
        }

        foreach (var project in projects)
        {
            var (name, exitCode, log) = (project[0], project[1], project.Length > 2 ? project[2] : "");
            var trx = Path.Combine(resultsDirectory, name + ".trx");
            var projectFailed = 0;
            XDocument document;
            try
            {
                document = XDocument.Load(trx);
            }
            catch (Exception e) when (e is IOException or XmlException)
            {
                var why = File.Exists(trx) ? $"the results file {name}.trx is unreadable ({e.Message})" : $"no results file ({name}.trx); dotnet test exited {exitCode}";
                failures.Add(($"{name}: {why}", Tail(log)));
                failed++;
                continue;
            }

            var results = document.Descendants(Trx + "UnitTestResult").ToList();
            corpus.AddRange(results.SelectMany(r => r.Elements(Trx + "Output").Elements(Trx + "StdOut"))
                .SelectMany(o => o.Value.Split('\n')).Where(l => l.StartsWith("bad-input corpus:", StringComparison.Ordinal)).Select(l => l.TrimEnd('\r')));
            foreach (var result in results)
            {
                var outcome = (string?)result.Attribute("outcome") ?? "";
                var test = (string?)result.Attribute("testName") ?? "?";
                var message = Error(result, "Message");
                switch (outcome)
                {
                    case "Passed":
                        passed++;
                        break;
                    case "NotExecuted" when message.Length > 0:
                        skipped++;
                        skips.Add($"{test}: {message}");
                        break;
                    case "Failed":
                        failed++;
                        projectFailed++;
                        failures.Add(($"{test} ({(string?)result.Attribute("duration")})", string.Join("\n", new[] { message, Error(result, "StackTrace") }.Where(p => p.Length > 0))));
                        break;
                    default:
                        failed++;
                        projectFailed++;
                        failures.Add(($"{test}: outcome {(outcome.Length > 0 ? outcome : "missing")} (not passed, not an explicit skip)", message));
                        break;
                }
            }

            var (stopped, hang) = StoppedTests(log);
            foreach (var test in stopped)
            {
                failed++;
                projectFailed++;
                failures.Add(($"{test}: {(hang ? "hung, stopped by --blame-hang-timeout" : "crashed the test host")} ({name}, dotnet test exited {exitCode})", Tail(log)));
            }

            if (exitCode != "0" && projectFailed == 0)
            {
                failed++;
                failures.Add(($"{name}: dotnet test exited {exitCode} though its results show no failure (a crashed or aborted test host)", Tail(log)));
            }
        }

        var total = 0;
        foreach (var line in corpus)
        {
            output.WriteLine(line);
            total += CorpusCount().Match(line) is { Success: true } m ? int.Parse(m.Groups[1].Value) : 0;
        }

        if (total > 0)
        {
            output.WriteLine($"bad-input corpus: {total} cases in all");
        }

        skips.ForEach(s => output.WriteLine($"skipped: {s}"));
        foreach (var (title, details) in failures)
        {
            output.WriteLine($"FAILED: {title}");
            foreach (var line in details.Length > 0 ? details.Split('\n').Take(15) : [])
            {
                output.WriteLine("    " + line.TrimEnd('\r'));
            }
        }

        return new Result(passed, failed, skipped);
    }

    private static string Error(XElement result, string name) =>
        result.Elements(Trx + "Output").Elements(Trx + "ErrorInfo").Elements(Trx + name).FirstOrDefault()?.Value.Trim() ?? "";

    /// <summary>The tests the blame collector names as running when the host died, and whether a hang killed it.</summary>
    private static (List<string> Tests, bool Hang) StoppedTests(string log)
    {
        if (log.Length == 0 || !File.Exists(log))
        {
            return ([], false);
        }

        var lines = File.ReadAllLines(log).Select(l => l.Trim()).ToList();
        // A host that died on its own says why ("Test host process crashed : …"); one that the hang timeout stopped has
        // only the blame collector's inactivity message.
        var crashedItself = lines.Any(l => l.Contains("Test host process crashed :", StringComparison.Ordinal));
        var hang = !crashedItself && lines.Any(l => l.Contains("inactivity time of", StringComparison.Ordinal) && l.Contains("has elapsed", StringComparison.Ordinal));
        var names = new List<string>();
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].StartsWith("The test running when the crash occurred:", StringComparison.Ordinal))
            {
                names.AddRange(lines.Skip(i + 1).Take(19).Where(n => n.Length > 0 && !n.StartsWith("This test may", StringComparison.Ordinal)));
                var attachments = names.FindIndex(n => n.StartsWith("Attachments", StringComparison.Ordinal));
                names = attachments >= 0 ? names[..attachments] : names;
            }
        }

        return (names, hang);
    }

    private static string Tail(string log, int count = 15) =>
        log.Length > 0 && File.Exists(log) ? string.Join("\n", File.ReadAllLines(log).TakeLast(count)) : "";

    [GeneratedRegex(@": (\d+) ")]
    private static partial Regex CorpusCount();
}
