using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StableAlignment.SingleProcess;
using StableAlignment.Storage;

namespace StableAlignment.Testing;

/// <summary>Configuration for a single-process app against a stub model, on a fresh embedded store.</summary>
public static class TestConfiguration
{
    public const string ApiKey = "test-api-key-123";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public static Dictionary<string, string?> SingleProcess(StubModelServer stub, string storePath) => new()
    {
        ["Bus:Transport"] = "InMemory",
        ["Storage:Provider"] = "Embedded",
        ["Storage:EmbeddedPath"] = storePath,
        ["Models:Default:Endpoint"] = stub.Endpoint,
        ["Models:Default:Model"] = "stub-model",
        ["Models:TimeoutSeconds"] = "5",
        ["Gateway:ApiKey"] = ApiKey,
    };

    public static string TempPath(string name) =>
        Path.Combine(Path.GetTempPath(), "stable-alignment-tests", $"{name}-{Guid.NewGuid():N}");
}

/// <summary>The whole system in one process on loopback Kestrel, as <c>sa serve</c> runs it.</summary>
public sealed class SingleProcessApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SingleProcessApp(WebApplication app, HttpClient client)
    {
        _app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public IBus Bus => _app.Services.GetRequiredService<IBus>();

    public IInteractionRepository Interactions => _app.Services.GetRequiredService<IInteractionRepository>();

    public static async Task<SingleProcessApp> StartAsync(
        StubModelServer stub,
        IDictionary<string, string?>? overrides = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning);
        var settings = TestConfiguration.SingleProcess(stub, TestConfiguration.TempPath("single") + ".db");
        foreach (var (k, v) in overrides ?? new Dictionary<string, string?>())
        {
            settings[k] = v;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddAllServices();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapAllServices();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient { BaseAddress = new Uri(address) };
        client.DefaultRequestHeaders.Add("X-Api-Key", TestConfiguration.ApiKey);
        return new SingleProcessApp(app, client);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Polling helpers for eventually-consistent checks, bounded in time.</summary>
public static class Eventually
{
    /// <summary>
    /// Probes until <paramref name="done"/> holds and returns that value. At the deadline it throws a
    /// <see cref="TimeoutException"/> that names the condition (its source text, or <paramref name="what"/>) and the
    /// last value seen: a wait that ends without its condition is a failure, never a silent return.
    /// </summary>
    public static async Task<T> ReturnsAsync<T>(
        Func<Task<T>> probe, Func<T, bool> done, TimeSpan? timeout = null, string? what = null,
        [CallerArgumentExpression(nameof(done))] string condition = "")
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {limit.TotalSeconds:0.#} s for {what ?? condition}; the last value was {Describe(value)}.");
            }

            await Task.Delay(50);
        }
    }

    private static string Describe<T>(T value)
    {
        string text;
        try
        {
            text = value switch
            {
                null => "null",
                string s => s,
                System.Collections.IEnumerable items => JsonSerializer.Serialize(items, TestConfiguration.Json),
                _ when value.GetType().IsPrimitive => value.ToString() ?? "",
                _ => JsonSerializer.Serialize(value, TestConfiguration.Json),
            };
        }
        catch (NotSupportedException)
        {
            text = value?.ToString() ?? "null";
        }

        return text.Length <= 600 ? text : text[..600] + "…";
    }

    /// <summary>The run's interactions read over HTTP, once <paramref name="count"/> of them exist (a <see cref="TimeoutException"/> otherwise).</summary>
    public static Task<List<InteractionRecord>> InteractionsAsync(HttpClient client, Guid runId, int count, TimeSpan? timeout = null) =>
        ReturnsAsync(
            async () =>
            {
                using var response = await client.GetAsync($"/api/memory/interactions?runId={runId}");
                return response.IsSuccessStatusCode
                    ? await response.Content.ReadFromJsonAsync<List<InteractionRecord>>(TestConfiguration.Json) ?? []
                    : [];
            },
            list => list.Count >= count,
            timeout,
            $"{count} stored interactions of run {runId}");
}

/// <summary>A test class with a fresh stub model server and a single-process app around it for each test.</summary>
public abstract class SingleProcessTest : Xunit.IAsyncLifetime
{
    protected StubModelServer Stub { get; private set; } = null!;

    protected SingleProcessApp App { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Stub = await StubModelServer.StartAsync();
        App = await SingleProcessApp.StartAsync(Stub);
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Stub.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
