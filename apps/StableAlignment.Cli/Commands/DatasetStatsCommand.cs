using System.CommandLine;
using Spectre.Console;
using StableAlignment.DatasetBuilder;

namespace StableAlignment.Cli;

/// <summary><c>sa dataset stats</c>: what a build kept and dropped, and why.</summary>
public static class DatasetStatsCommand
{
    public static Command Create(CliOptions cli)
    {
        var folder = new Argument<DirectoryInfo>("folder") { Description = "A dataset folder" };
        var command = new Command("stats", "What a build kept and dropped, and why") { folder };
        command.SetAction((p, ct) => StatsAsync(p.GetValue(folder)!, ct));
        return command;
    }

    public static async Task<int> StatsAsync(DirectoryInfo folder, CancellationToken ct)
    {
        var path = Path.Combine(folder.FullName, "stats.json");
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"No stats.json in {folder.FullName}: is it a dataset folder?");
            return 2;
        }

        Print(StableAlignment.Primitives.JsonLines.ReadJson<DatasetStats>(path, DatasetBuild.Json));
        return 0;
    }

    public static void Print(DatasetStats s)
    {
        var table = new Table().AddColumns("", "imitation", "self-critic", "realignment");
        void Row(string name, Dictionary<string, long> values) =>
            table.AddTextRow(name, $"{values["imitation"]}", $"{values["self-critic"]}", $"{values["realignment"]}");
        Row("made", s.Candidates);
        Row("dropped: invalid rating", s.DroppedInvalidRating);
        Row("dropped: empty text", s.DroppedEmptyText);
        table.AddTextRow("dropped: rating did not rise above before and 4", "-", "-", $"{s.DroppedRealignmentCondition}");
        Row("sampled out", s.SampledOut);
        Row("dropped: duplicate response", s.DroppedDuplicates);
        Row("kept (train)", s.KeptTrain);
        Row("kept (held out)", s.KeptHeldout);
        AnsiConsole.Write(table);
        Console.WriteLine($"{s.Records} records; {s.GroupsTrain} training groups, {s.GroupsHeldout} held-out groups");
    }
}
