using System.CommandLine;
using StableAlignment.Evaluator;

namespace StableAlignment.Cli;

/// <summary><c>sa eval leaderboard</c>: every evaluation under a folder, best first.</summary>
public static class LeaderboardCommand
{
    public static Command Create(CliOptions cli)
    {
        var root = new Option<DirectoryInfo>("--root") { Description = "Folder holding evaluation reports", DefaultValueFactory = _ => new DirectoryInfo("artifacts/evaluations") };
        var command = new Command("leaderboard", "Every evaluation under a folder, best first; writes leaderboard.md and leaderboard.png") { root };
        command.SetAction(p => Leaderboard(p.GetValue(root)!));
        return command;
    }

    public static int Leaderboard(DirectoryInfo root)
    {
        if (!root.Exists)
        {
            Console.Error.WriteLine($"No evaluations in {root.FullName}.");
            return 2;
        }

        Console.WriteLine(Reports.Leaderboard(root.FullName));
        return 0;
    }
}
