using System.CommandLine;
using StableAlignment.Cli;

var endpoint = new Option<string?>("--endpoint") { Description = "OpenAI-compatible base URL for every model role, e.g. http://localhost:11434/v1", Recursive = true };
var model = new Option<string?>("--model") { Description = "Model name for every model role", Recursive = true };
var apiKey = new Option<string?>("--model-api-key") { Description = "API key of the model endpoint", Recursive = true };
var gateway = new Option<Uri>("--gateway") { Description = "Gateway base URL", DefaultValueFactory = _ => new Uri("http://localhost:8080/"), Recursive = true };
var gatewayKey = new Option<string?>("--api-key") { Description = "Gateway API key (default: $SA_API_KEY)", Recursive = true };

var root = new RootCommand("sa — Stable Alignment operator command line");
root.Options.Add(endpoint);
root.Options.Add(model);
root.Options.Add(apiKey);

ModelOverrides Models(ParseResult p) => new(p.GetValue(endpoint), p.GetValue(model), p.GetValue(apiKey));
GatewayClient Gateway(ParseResult p) => new(p.GetValue(gateway)!, p.GetValue(gatewayKey) ?? Environment.GetEnvironmentVariable("SA_API_KEY"));

var questions = new Option<FileInfo?>("--questions") { Description = "Question file, one question per line (default: the bundled sample)" };
var limit = new Option<int?>("--limit") { Description = "Use only the first N questions" };
var output = new Option<DirectoryInfo>("--out") { Description = "Where results are written", DefaultValueFactory = _ => new DirectoryInfo("artifacts/runs") };
var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for all interactions", DefaultValueFactory = _ => 600 };
var run = new Command("run", "Run the pipeline end to end in one process (in-memory bus, embedded store)") { questions, limit, output, timeout };
run.SetAction((p, ct) => RunCommand.ExecuteAsync(Models(p), p.GetValue(questions), p.GetValue(limit), p.GetValue(output)!, p.GetValue(timeout), ct));
root.Subcommands.Add(run);

var urls = new Option<string>("--urls") { Description = "Address to listen on", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
var serve = new Command("serve", "Serve every service and the gateway API from one process") { urls };
serve.SetAction((p, ct) => ServeCommand.ExecuteAsync(Models(p), p.GetValue(urls)!, ct));
root.Subcommands.Add(serve);

var text = new Argument<string[]>("question") { Description = "One or more questions", Arity = ArgumentArity.OneOrMore };
var runId = new Option<Guid?>("--run") { Description = "Add the questions to this run" };
var ask = new Command("ask", "Post questions through the gateway") { text, runId, gateway, gatewayKey };
ask.SetAction((p, ct) => Gateway(p).AskAsync(p.GetValue(text)!, p.GetValue(runId), ct));
root.Subcommands.Add(ask);

var requiredRun = new Option<Guid>("--run") { Description = "The run id", Required = true };
var interactions = new Command("interactions", "List a run's stored interactions through the gateway") { requiredRun, gateway, gatewayKey };
interactions.SetAction((p, ct) => Gateway(p).InteractionsAsync(p.GetValue(requiredRun), ct));
root.Subcommands.Add(interactions);

var runs = new Command("runs", "List runs through the gateway") { gateway, gatewayKey };
runs.SetAction((p, ct) => Gateway(p).RunsAsync(ct));
root.Subcommands.Add(runs);

return await root.Parse(args).InvokeAsync();
