using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StableAlignment.Contracts;
using StableAlignment.Primitives;

namespace StableAlignment.ModelServer;

/// <summary>The model a request names does not exist here.</summary>
public sealed class ModelNotFoundException(string message) : Exception(message);

/// <summary>
/// The models a server offers. With a fixed model (<c>--checkpoint</c>) every request goes to it, whatever name it
/// sends. With roots configured, a request's <c>model</c> is a name resolved under them — <c>checkpoints/…</c> under
/// <see cref="ModelServerOptions.CheckpointsRoot"/> (the trainer's folder), anything else under
/// <see cref="ModelServerOptions.ModelsRoot"/> — loaded on first use, each with its own batching worker; at most
/// <see cref="ModelServerOptions.MaxLoadedModels"/> stay loaded (the least recently used is unloaded, once no request
/// uses it any more: requests hold a <see cref="ModelLease"/>). Names cannot leave their root.
/// </summary>
/// <param name="ownsFixed">Dispose <paramref name="fixedModel"/> with the registry (models loaded by name always are).</param>
public sealed class ModelRegistry(IOptions<ModelServerOptions> options, ILoggerFactory logs, ServedModel? fixedModel = null, bool ownsFixed = false) : IHostedService, IAsyncDisposable
{
    /// <summary>A loaded model and the requests using it: unloaded only once the last of them is done (<see cref="Retire"/>).</summary>
    private sealed class Entry(GenerationScheduler scheduler)
    {
        private readonly Lock _gate = new();
        private int _inUse;
        private bool _retired;

        public GenerationScheduler Scheduler { get; } = scheduler;

        public long LastUse { get; set; }

        /// <summary>A use of the model, or null when it is being unloaded (the caller looks it up again).</summary>
        public ModelLease? Acquire()
        {
            lock (_gate)
            {
                if (_retired)
                {
                    return null;
                }

                _inUse++;
                return new ModelLease(Scheduler, Release);
            }
        }

        /// <summary>Marks the model for unloading: now when nobody uses it, otherwise when the last use ends.</summary>
        public bool Retire()
        {
            lock (_gate)
            {
                _retired = true;
                return _inUse == 0;
            }
        }

        private void Release()
        {
            bool last;
            lock (_gate)
            {
                last = --_inUse == 0 && _retired;
            }

            if (last)
            {
                _ = Unload(this);
            }
        }
    }

    private static async Task Unload(Entry entry)
    {
        await entry.Scheduler.StopAsync(CancellationToken.None);
        entry.Scheduler.Model.Dispose();
    }

    private readonly ConcurrentDictionary<string, Lazy<Task<Entry>>> _models = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _loading = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private Entry? _fixed;
    private long _clock;

    public ModelServerOptions Options => options.Value;

    public IEnumerable<ServedModel> Loaded =>
        (_fixed is null ? [] : new[] { _fixed.Scheduler.Model }).Concat(_models.Values.Where(l => l.IsValueCreated && l.Value.IsCompletedSuccessfully).Select(l => l.Value.Result.Scheduler.Model));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (fixedModel is not null)
        {
            _fixed = new Entry(new GenerationScheduler(fixedModel, options, logs.CreateLogger<GenerationScheduler>()));
            await _fixed.Scheduler.StartAsync(cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        foreach (var entry in All())
        {
            await entry.Scheduler.StopAsync(cancellationToken);
        }
    }

    /// <summary>
    /// A use of the named model, loading it if needed: the model stays loaded until the lease is disposed, even when
    /// other requests make it the least recently used one. Every request holds one while it runs.
    /// </summary>
    public async Task<ModelLease> LeaseAsync(string? name, CancellationToken ct)
    {
        while (true)
        {
            var entry = await EntryAsync(name, ct);
            if (entry.Acquire() is { } lease)
            {
                return lease;
            }
        }
    }

    /// <summary>The worker of the named model, loading it if needed (without holding it loaded: for inspection).</summary>
    public async Task<GenerationScheduler> GetAsync(string? name, CancellationToken ct) => (await EntryAsync(name, ct)).Scheduler;

    private async Task<Entry> EntryAsync(string? name, CancellationToken ct)
    {
        var o = options.Value;
        if (_fixed is not null && (name is null || name == _fixed.Scheduler.Model.Id))
        {
            return _fixed;
        }

        if (o.ModelsRoot is null && o.CheckpointsRoot is null)
        {
            throw new ModelNotFoundException(_fixed is null
                ? $"The model '{name}' is not served here: neither ModelServer:ModelsRoot nor ModelServer:CheckpointsRoot is set."
                : $"The model '{name}' is not served here; this server serves '{_fixed.Scheduler.Model.Id}' (GET /v1/models).");
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ModelNotFoundException("'model' is required: this server loads models by name.");
        }

        var lazy = _models.GetOrAdd(name, n => new Lazy<Task<Entry>>(() => LoadAsync(n)));
        Entry entry;
        try
        {
            entry = await lazy.Value.WaitAsync(ct);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            _models.TryRemove(new KeyValuePair<string, Lazy<Task<Entry>>>(name, lazy));
            throw;
        }

        entry.LastUse = Interlocked.Increment(ref _clock);
        return entry;
    }

    private async Task<Entry> LoadAsync(string name)
    {
        var o = options.Value;
        string folder;
        try
        {
            folder = name.StartsWith(LoopStep.CheckpointPrefix, StringComparison.Ordinal)
                ? ConfinedPath.Resolve(o.CheckpointsRoot ?? throw new ModelNotFoundException($"The model '{name}' names a checkpoint, but ModelServer:CheckpointsRoot is not set."), name[LoopStep.CheckpointPrefix.Length..], "model")
                : ConfinedPath.Resolve(o.ModelsRoot ?? throw new ModelNotFoundException($"The model '{name}' is not served here (ModelServer:ModelsRoot is not set)."), name, "model");
        }
        catch (PathEscapeException e)
        {
            throw new ModelNotFoundException(e.Message);
        }

        if (!Directory.Exists(folder))
        {
            throw new ModelNotFoundException($"The model '{name}' does not exist on this server.");
        }

        await _loading.WaitAsync(_stopping.Token);
        try
        {
            var logger = logs.CreateLogger<ModelRegistry>();
            var served = await Task.Run(() => ServedModel.Load(folder, name, o.Template, o.Threads), _stopping.Token);
            var entry = new Entry(new GenerationScheduler(served, options, logs.CreateLogger<GenerationScheduler>())) { LastUse = Interlocked.Increment(ref _clock) };
            await entry.Scheduler.StartAsync(_stopping.Token);
            logger.LogInformation("Loaded model {Model} from {Folder}", name, folder);
            await EvictAsync(name, logger);
            return entry;
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>Unloads the least recently used models beyond the limit (never the one just loaded).</summary>
    private async Task EvictAsync(string keep, ILogger logger)
    {
        var loaded = _models.Where(kv => kv.Key != keep && kv.Value.IsValueCreated && kv.Value.Value.IsCompletedSuccessfully)
            .Select(kv => (kv.Key, Entry: kv.Value.Value.Result)).OrderBy(x => x.Entry.LastUse).ToList();
        while (loaded.Count + 1 > Math.Max(1, options.Value.MaxLoadedModels))
        {
            var (name, entry) = loaded[0];
            loaded.RemoveAt(0);
            _models.TryRemove(name, out _);
            if (entry.Retire())
            {
                await Unload(entry);
                logger.LogInformation("Unloaded model {Model} (least recently used)", name);
            }
            else
            {
                logger.LogInformation("Unloading model {Model} (least recently used) once the requests using it are done", name);
            }
        }
    }

    private IEnumerable<Entry> All() =>
        (_fixed is null ? [] : new[] { _fixed }).Concat(_models.Values.Where(l => l.IsValueCreated && l.Value.IsCompletedSuccessfully).Select(l => l.Value.Result));

    public ValueTask DisposeAsync()
    {
        foreach (var entry in All())
        {
            entry.Scheduler.Dispose();
            if (entry != _fixed || ownsFixed)
            {
                entry.Scheduler.Model.Dispose();
            }
        }

        _models.Clear();
        _stopping.Dispose();
        _loading.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A request's use of a loaded model; disposing it lets the model be unloaded.</summary>
public sealed class ModelLease(GenerationScheduler scheduler, Action release) : IDisposable
{
    private int _released;

    public GenerationScheduler Scheduler { get; } = scheduler;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            release();
        }
    }
}
