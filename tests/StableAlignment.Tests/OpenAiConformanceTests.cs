using System.Diagnostics;
using StableAlignment.ModelServer;

namespace StableAlignment.Tests;

/// <summary>
/// <c>sa serve-model</c>'s API checked by OpenAI's official JavaScript client (the <c>openai</c> npm package, pinned in
/// tests/node-oracles, installed by make test with <c>npm ci</c>): every endpoint, streaming, and every error the
/// API promises, as the client reports them (tests/node-oracles/conformance.mjs).
/// </summary>
public sealed class OpenAiConformanceTests
{
    [Fact]
    public async Task The_official_openai_client_finds_every_endpoint_and_error_as_documented()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = RepositoryRoot.Combine("tests", "node-oracles");
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "openai")),
            $"the openai npm package is not installed: run `npm ci` in {folder} (make test does)");

        TorchRuntime.Initialize(0);
        using var model = ServedModel.From("tiny-conformance", new LlamaForCausalLM(LlamaConfig.Tiny, seed: 9), new ByteTokenizer(), ServedModel.AlpacaTemplate);
        await using var app = ModelServerHost.Build("http://127.0.0.1:0", new Dictionary<string, string?> { ["ModelServer:ApiKey"] = "conformance-key" }, model);
        await app.StartAsync(ct);

        using var node = Process.Start(new ProcessStartInfo("node", [Path.Combine(folder, "conformance.mjs"), ModelServerHost.Endpoint(app).ToString(), "conformance-key"])
        {
            WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        var stdout = node.StandardOutput.ReadToEndAsync(ct);
        var stderr = node.StandardError.ReadToEndAsync(ct);
        await node.WaitForExitAsync(ct);
        var report = await stdout + await stderr;

        Assert.True(node.ExitCode == 0, report);
        var checks = report.Split('\n').Where(l => l.StartsWith("ok ", StringComparison.Ordinal)).ToList();
        Assert.True(checks.Count >= 25, $"only {checks.Count} checks ran:\n{report}");
        Assert.Contains("0 failed", report, StringComparison.Ordinal);
    }
}
