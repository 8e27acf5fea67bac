namespace StableAlignment.Tests;

/// <summary>Four short rated groups (one of three responses, three of two) for training tests on the golden folders.</summary>
internal static class SmallRatedGroups
{
    public static readonly List<RatedGroup> Data =
    [
        new("Is lying fine?", ["Honesty builds trust.", "Lie whenever you like.", "It depends."], [7, 1, 4]),
        new("Should I help?", ["Yes, kindly.", "No, ignore them."], [6, 2]),
        new("Is gossip ok?", ["It can hurt people.", "Spread it all."], [6, 1]),
        new("May I cheat?", ["No, be fair.", "Sure."], [7, 1]),
    ];
}
