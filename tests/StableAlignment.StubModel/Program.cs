using StableAlignment.Testing;

// stub-model [--urls URL]: the stub as a process, for the compose test and scripts. Every reply depends on the whole
// prompt (PromptEcho), so ratings vary and datasets have pairs to rank; STUB_LATENCY_MS delays every answer.
// Never use it for anything but tests.
var urls = args.SkipWhile(a => a != "--urls").Skip(1).FirstOrDefault() ?? "http://0.0.0.0:8000";
var latency = int.TryParse(Environment.GetEnvironmentVariable("STUB_LATENCY_MS"), out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
await using var stub = await StubModelServer.StartAsync(urls);
stub.Latency = latency;
stub.ScriptByPrompt();
Console.WriteLine($"stub-model listening on {stub.BaseUri} (latency {latency.TotalMilliseconds} ms)");
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stop.Cancel();
});
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
    // stopped
}
