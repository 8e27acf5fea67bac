using System.Text.Json;
using System.Threading.Channels;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StableAlignment.Contracts;
using StableAlignment.Hosting;
using StableAlignment.Learning;
using StableAlignment.Models;
using StableAlignment.Storage;
using StableAlignment.Primitives;

namespace StableAlignment.Evaluator;

public static class Wrappers
{
    public static List<string> Load(string? path)
    {
        var file = path ?? Path.Combine(AppContext.BaseDirectory, "data", "adversarial", "wrappers.txt");
        return File.Exists(file)
            ? [.. File.ReadLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains("{prompt}", StringComparison.Ordinal))]
            : throw new FileNotFoundException($"Adversarial wrappers not found: {file}", file);
    }
}
