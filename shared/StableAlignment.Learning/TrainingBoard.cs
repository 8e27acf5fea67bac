using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace StableAlignment.Learning;

/// <summary>
/// TensorBoard event files beside <c>metrics.jsonl</c>: <c>tensorboard --logdir OUT</c> shows the curves. One file per
/// folder, <c>events.out.tfevents.&lt;unix seconds&gt;.&lt;host&gt;</c>, made at the first value written (a call that
/// trains nothing leaves none) and appended to by a resumed run and by later evaluations. Each record is TFRecord-framed
/// (length, masked CRC-32C of the length, the <c>Event</c> protocol buffer, its masked CRC-32C), and <c>wall_time</c> is
/// Unix time in seconds, as TensorBoard's time axes expect.
/// </summary>
public sealed class TrainingBoard(string folder)
{
    private const string Prefix = "events.out.tfevents.";

    /// <summary>The folder's event file once found or made: looked up once per writer, not at every step.</summary>
    private string? _path;

    public void Write(StepMetrics m) => Append(m.Step,
    [
        ("train/loss", m.Loss), ("train/sft", m.Sft), ("train/diff", m.Diff), ("train/learning_rate", m.LearningRate),
        ("train/tokens_per_second", m.TokensPerSecond), ("train/grad_norm", m.GradNorm),
    ]);

    /// <summary>One scalar per benchmark at a checkpoint's step (the evaluator's curves over training).</summary>
    public static void WriteScores(string folder, int step, IEnumerable<KeyValuePair<string, double>> scores) =>
        new TrainingBoard(folder).Append(step, [.. scores.Select(s => ($"eval/{s.Key}", s.Value))]);

    /// <summary>The folder's event file, if it has one.</summary>
    public static string? File(string folder) =>
        Directory.Exists(folder) ? Directory.GetFiles(folder, Prefix + "*").Order(StringComparer.Ordinal).FirstOrDefault() : null;

    private void Append(long step, IReadOnlyList<(string Tag, double Value)> values)
    {
        var now = DateTimeOffset.UtcNow;
        var path = _path ??= File(folder);
        using var stream = new MemoryStream();
        if (path is null)
        {
            Directory.CreateDirectory(folder);
            path = _path = Path.Combine(folder, $"{Prefix}{now.ToUnixTimeSeconds()}.{Environment.MachineName}");

            // The first record of every event file names its format.
            Record(stream, Event(now, 0, w => Bytes(w, 3, Encoding.UTF8.GetBytes("brain.Event:2"))));
        }

        Record(stream, Event(now, step, w =>
        {
            var summary = new MemoryStream();
            var f = new byte[4];
            foreach (var (tag, value) in values)
            {
                var v = new MemoryStream();
                Bytes(v, 1, Encoding.UTF8.GetBytes(tag));
                Key(v, 2, 5);
                BinaryPrimitives.WriteSingleLittleEndian(f, (float)value);
                v.Write(f);
                Bytes(summary, 1, v.ToArray());
            }

            Bytes(w, 5, summary.ToArray());
        }));
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        file.Write(stream.ToArray());
    }

    /// <summary>An <c>Event</c>: wall_time (1, double), step (2, varint), then what <paramref name="body"/> adds.</summary>
    private static byte[] Event(DateTimeOffset time, long step, Action<MemoryStream> body)
    {
        var e = new MemoryStream();
        Key(e, 1, 1);
        Span<byte> d = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(d, time.ToUnixTimeMilliseconds() / 1000.0);
        e.Write(d);
        Key(e, 2, 0);
        Varint(e, (ulong)step);
        body(e);
        return e.ToArray();
    }

    private static void Record(Stream s, byte[] data)
    {
        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(head, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], Masked(head[..8]));
        s.Write(head);
        s.Write(data);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tail, Masked(data));
        s.Write(tail);
    }

    private static uint Masked(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
    }

    private static void Key(Stream s, int field, int wire) => Varint(s, (ulong)((field << 3) | wire));

    private static void Bytes(Stream s, int field, byte[] data)
    {
        Key(s, field, 2);
        Varint(s, (ulong)data.Length);
        s.Write(data);
    }

    private static void Varint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        s.WriteByte((byte)value);
    }
}
