using StableAlignment.TestTotals;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: TestTotals RESULTS_DIR TOTALS_FILE");
    return 2;
}

var totals = Totals.Read(args[0], Console.Out);
File.WriteAllText(args[1], $"{totals.Passed} {totals.Failed} {totals.Skipped}\n");
return 0;
