using System.Text;

namespace StableAlignment.Models;

/// <summary>Lower-cased words and word pairs hashed into a fixed number of buckets (FNV-1a, stable across processes).</summary>
public static class HashingFeatures
{
    public static Dictionary<int, float> Of(string text, int buckets)
    {
        var words = Words(text);
        var features = new Dictionary<int, float>();
        void Add(string token)
        {
            var b = (int)(Fnv(token) % (uint)buckets);
            features[b] = features.GetValueOrDefault(b) + 1;
        }

        for (var i = 0; i < words.Count; i++)
        {
            Add(words[i]);
            if (i + 1 < words.Count)
            {
                Add(words[i] + " " + words[i + 1]);
            }
        }

        return features;
    }

    public static List<string> Words(string text)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (var c in text.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c == '\'')
            {
                current.Append(c);
            }
            else if (current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
        }

        if (current.Length > 0)
        {
            words.Add(current.ToString());
        }

        return words;
    }

    private static uint Fnv(string s)
    {
        var h = 2166136261u;
        foreach (var c in s)
        {
            h = (h ^ c) * 16777619u;
        }

        return h;
    }
}
