using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StableAlignment.Learning;
using StableAlignment.Primitives;
using TorchSharp;
using static TorchSharp.torch;

namespace StableAlignment.ModelServer;

/// <summary>Bound from the "ModelServer" section.</summary>
public sealed class ModelServerOptions
{
    public const string Section = "ModelServer";

    /// <summary>The folder served: a training folder (its latest checkpoint), a checkpoint, or a Hugging Face model folder.</summary>
    public string? Checkpoint { get; set; }

    /// <summary>The model name clients send; default: the folder's name, then "-" and the checkpoint's step folder when it has one (never a "/").</summary>
    public string? ModelId { get; set; }

    public ChatTemplate Template { get; set; } = ChatTemplate.Recorded;

    /// <summary>Sequences decoded together at most.</summary>
    public int MaxBatch { get; set; } = 64;

    /// <summary>How long the first request of a batch waits for others to join it, in milliseconds.</summary>
    public int BatchWindowMilliseconds { get; set; } = 10;

    /// <summary>
    /// <see cref="BatchingMode.Continuous"/>: a request joins the running batch at the next step, and a finished one
    /// leaves at once. <see cref="BatchingMode.PerBatch"/>: a batch is formed, decoded to its end, then the next one.
    /// </summary>
    public BatchingMode Batching { get; set; } = BatchingMode.Continuous;

    /// <summary>Requests waiting at most; beyond it the server answers 503.</summary>
    public int MaxQueue { get; set; } = 1024;

    /// <summary><c>max_tokens</c> when a request gives none.</summary>
    public int DefaultMaxTokens { get; set; } = 256;

    /// <summary>Sequences one request may ask for at most (prompts × <c>n</c>); more is refused before anything is queued.</summary>
    public int MaxSequencesPerRequest { get; set; } = 256;

    /// <summary>Tokens one request may ask for at most (sequences × <c>max_tokens</c>); more is refused before anything is queued.</summary>
    public int MaxTokensPerRequest { get; set; } = 262_144;

    /// <summary>The largest <c>max_tokens</c> accepted.</summary>
    public int MaxTokensLimit { get; set; } = 2048;

    /// <summary>The largest prompt accepted, in characters.</summary>
    public int MaxPromptCharacters { get; set; } = 65_536;

    /// <summary>
    /// A prompt that leaves no room in the model's context keeps its tail (as generation does elsewhere) instead of
    /// being refused with a 400. Off by default, as OpenAI's API refuses such prompts; the offline society turns it on
    /// for its small agents, whose whole-task prompts can be longer than a tiny model's context.
    /// </summary>
    public bool TruncateLongPrompts { get; set; }

    /// <summary>When set, every request must send <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Serve models by name from this folder (base models; see <see cref="ModelRegistry"/>).</summary>
    public string? ModelsRoot { get; set; }

    /// <summary>Serve checkpoints by name (<c>checkpoints/</c> + a location) from this folder: the trainer's root.</summary>
    public string? CheckpointsRoot { get; set; }

    /// <summary>Models kept loaded at most when serving by name.</summary>
    public int MaxLoadedModels { get; set; } = 3;

    /// <summary>Threads for the CPU (0: the runtime's choice).</summary>
    public int Threads { get; set; }
}

/// <summary>How requests share the decoding (see <see cref="ModelServerOptions.Batching"/>).</summary>
public enum BatchingMode
{
    Continuous,
    PerBatch,
}

/// <summary>The server is full: the request was not queued.</summary>
public sealed class QueueFullException() : Exception("The model server's queue is full; try again shortly.");

/// <summary>
/// One worker owns the model and one running <see cref="DecodeBatch"/>. Requests queue up; before every decoding step
/// the worker lets the waiting ones join the batch, up to <see cref="ModelServerOptions.MaxBatch"/> rows (continuous
/// batching; in <see cref="BatchingMode.PerBatch"/> only when the batch is empty), and a row leaves as soon as it
/// finishes or its client goes away. An idle worker waits a short window after the first request for others. Streaming
/// requests receive their text as it is decoded. Embeddings go through the same worker, between steps.
/// </summary>
public sealed class GenerationScheduler(ServedModel served, IOptions<ModelServerOptions> options, ILogger<GenerationScheduler> logger) : BackgroundService
{
    private abstract record Work(CancellationToken Cancel);

    private sealed record GenerateWork(BatchRequest Request, Action<string>? OnText, TaskCompletionSource<BatchResult> Done, CancellationToken Cancel) : Work(Cancel);

    private sealed record EmbedWork(IReadOnlyList<string> Inputs, TaskCompletionSource<(float[][] Vectors, int Tokens)> Done, CancellationToken Cancel) : Work(Cancel);

    private readonly Channel<Work> _queue = Channel.CreateBounded<Work>(new BoundedChannelOptions(Math.Max(1, options.Value.MaxQueue)) { FullMode = BoundedChannelFullMode.Wait });
    private readonly ModelServerOptions _o = options.Value;

    public ServedModel Model => served;

    /// <summary>Batches decoded so far (a batch ends when its last row leaves), and the most sequences one of them held at once.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    public int LargestBatch => Volatile.Read(ref _largest);

    private long _batches;
    private int _largest;

    /// <summary>Queues one sequence; the task ends with its text. Throws <see cref="QueueFullException"/> when the queue is full.</summary>
    public Task<BatchResult> GenerateAsync(BatchRequest request, Action<string>? onText, CancellationToken ct)
    {
        var done = new TaskCompletionSource<BatchResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new GenerateWork(request, onText, done, ct));
        return done.Task;
    }

    private readonly Lock _enqueue = new();

    /// <summary>
    /// Queues the sequences of one request all together or none of them (<see cref="QueueFullException"/>), so a request
    /// that does not fit leaves nothing behind in the queue to decode for nobody.
    /// </summary>
    public IReadOnlyList<Task<BatchResult>> GenerateAll(IReadOnlyList<BatchRequest> requests, CancellationToken ct)
    {
        lock (_enqueue)
        {
            if (_queue.Reader.Count + requests.Count > Math.Max(1, _o.MaxQueue))
            {
                throw new QueueFullException();
            }

            return [.. requests.Select(r => GenerateAsync(r, null, ct))];
        }
    }

    /// <summary>Mean-pooled last hidden states of each input, L2-normalised, and the number of tokens read.</summary>
    public Task<(float[][] Vectors, int Tokens)> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken ct)
    {
        var done = new TaskCompletionSource<(float[][], int)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new EmbedWork(inputs, done, ct));
        return done.Task;
    }

    private void Enqueue(Work work)
    {
        bool written;
        lock (_enqueue)
        {
            written = _queue.Writer.TryWrite(work);
        }

        if (!written)
        {
            throw new QueueFullException();
        }

        Telemetry.Queued("generation", 1, served.Id);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The model runs on one dedicated thread: TorchSharp calls are synchronous and long.
        await Task.Factory.StartNew(() => Loop(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    private async Task Loop(CancellationToken stop)
    {
        using var batch = new DecodeBatch(served.Model, served.Tokenizer);
        var rows = new Dictionary<DecodeRow, GenerateWork>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var joining = new List<GenerateWork>();
                if (batch.Count == 0 && !await WaitForWorkAsync(joining, stop))
                {
                    break;
                }

                // A running batch takes newcomers once there is room for an eighth of it, so a full batch under heavy load
                // prefills them in groups rather than one or two at every step.
                var room = _o.MaxBatch - batch.Count - joining.Count;
                if (batch.Count == 0 || (_o.Batching == BatchingMode.Continuous && room >= Math.Max(1, _o.MaxBatch / 8)))
                {
                    Take(joining, room);
                }

                Join(batch, rows, joining);
                Step(batch, rows);
            }
        }
        finally
        {
            foreach (var work in rows.Values)
            {
                Cancel(work);
            }

            while (_queue.Reader.TryRead(out var left))
            {
                Telemetry.Queued("generation", -1, served.Id);
                Cancel(left);
            }
        }
    }

    /// <summary>
    /// An idle worker: waits for the first request (an embedding is run at once and the wait goes on), then for the
    /// batch window so that others arriving with it join the first step. False when the server stops.
    /// </summary>
    private async Task<bool> WaitForWorkAsync(List<GenerateWork> joining, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var first = await _queue.Reader.ReadAsync(stop);
                Telemetry.Queued("generation", -1, served.Id);
                if (first.Cancel.IsCancellationRequested)
                {
                    Cancel(first);
                }
                else if (first is EmbedWork embed)
                {
                    Run(embed);
                }
                else
                {
                    joining.Add((GenerateWork)first);
                    break;
                }
            }

            if (_o.BatchWindowMilliseconds > 0)
            {
                await Task.Delay(_o.BatchWindowMilliseconds, stop);
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            joining.ForEach(Cancel);
            return false;
        }
    }

    /// <summary>Takes up to <paramref name="room"/> waiting requests; an embedding met on the way runs now, between steps.</summary>
    private void Take(List<GenerateWork> joining, int room)
    {
        while (room > 0 && _queue.Reader.TryRead(out var more))
        {
            Telemetry.Queued("generation", -1, served.Id);
            if (more.Cancel.IsCancellationRequested)
            {
                Cancel(more);
            }
            else if (more is GenerateWork g)
            {
                joining.Add(g);
                room--;
            }
            else
            {
                Run((EmbedWork)more);
            }
        }
    }

    /// <summary>Prefills the joining requests into the batch; one whose prompt fails by itself fails its own request only.</summary>
    private void Join(DecodeBatch batch, Dictionary<DecodeRow, GenerateWork> rows, List<GenerateWork> joining)
    {
        // A request cancelled while it waited (its client left, or its other parts could not be queued) is dropped.
        foreach (var gone in joining.Where(w => w.Cancel.IsCancellationRequested).ToList())
        {
            joining.Remove(gone);
            Cancel(gone);
        }

        if (joining.Count == 0)
        {
            return;
        }

        var added = joining.Select(w => (Row: new DecodeRow(w.Request with { Cancel = w.Cancel }, w.OnText), Work: w)).ToList();
        IReadOnlyList<(DecodeRow Row, Exception Error)> failed;
        try
        {
            failed = batch.Join([.. added.Select(a => a.Row)]);
        }
        catch (Exception e)
        {
            failed = [.. added.Select(a => (a.Row, e))];
        }

        foreach (var (row, work) in added)
        {
            if (failed.FirstOrDefault(f => f.Row == row) is { Error: { } error })
            {
                logger.LogError(error, "A prompt of {Tokens} tokens could not be prefilled; its request fails alone", work.Request.Prompt.Count);
                work.Done.TrySetException(error);
            }
            else
            {
                rows[row] = work;
            }
        }

        Volatile.Write(ref _largest, Math.Max(_largest, batch.Count));
    }

    /// <summary>One decoding step; each row that finished answers its request. A step that fails fails the rows in it.</summary>
    private void Step(DecodeBatch batch, Dictionary<DecodeRow, GenerateWork> rows)
    {
        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            foreach (var row in batch.Step())
            {
                var work = rows[row];
                rows.Remove(row);
                if (work.Cancel.IsCancellationRequested)
                {
                    work.Done.TrySetCanceled(work.Cancel);
                }
                else
                {
                    work.Done.TrySetResult(row.Result!);
                }
            }

            if (batch.Count == 0)
            {
                Interlocked.Increment(ref _batches);
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "A decoding step of {Count} sequences failed", rows.Count);
            foreach (var work in rows.Values)
            {
                work.Done.TrySetException(e);
            }

            rows.Clear();
            batch.Clear();
        }
    }

    private void Run(EmbedWork work)
    {
        try
        {
            var vectors = new float[work.Inputs.Count][];
            var tokens = 0;
            var device = served.Model.parameters().First().device;
            var was = served.Model.training;
            served.Model.eval();
            try
            {
                for (var i = 0; i < work.Inputs.Count; i++)
                {
                    using var scope = NewDisposeScope();
                    using var grad = no_grad();
                    var ids = served.Tokenizer.Start.Concat(served.Tokenizer.Encode(work.Inputs[i])).Take(served.Model.Config.MaxPositions).Select(t => (long)t).ToArray();
                    tokens += ids.Length;
                    var pooled = served.Model.Hidden(tensor(ids, [1, ids.Length], device: device))[0].to(ScalarType.Float32).mean([0]);
                    using var tiny = 1e-12.ToScalar();
                    pooled = pooled / pooled.norm().clamp_min(tiny);
                    vectors[i] = pooled.cpu().data<float>().ToArray();
                }
            }
            finally
            {
                served.Model.train(was);
            }

            work.Done.TrySetResult((vectors, tokens));
        }
        catch (Exception e)
        {
            work.Done.TrySetException(e);
        }
    }

    private static void Cancel(Work work)
    {
        switch (work)
        {
            case GenerateWork g:
                g.Done.TrySetCanceled(g.Cancel);
                break;
            case EmbedWork e:
                e.Done.TrySetCanceled(e.Cancel);
                break;
        }
    }
}
