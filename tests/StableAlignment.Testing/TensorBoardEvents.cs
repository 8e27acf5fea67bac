using System.Buffers.Binary;
using System.Text;

namespace StableAlignment.Testing;

/// <summary>
/// Reads TensorBoard event files back, independently of the writer: TFRecord framing (little-endian length, masked
/// CRC-32C of the length, the record, masked CRC-32C of the record, both checked) around <c>Event</c> protocol buffers,
/// of which the scalar summaries (<c>Event.wall_time</c> = 1, <c>Event.step</c> = 2, <c>Event.summary</c> = 5, <c>Summary.value</c> = 1,
/// <c>Value.tag</c> = 1, <c>Value.simple_value</c> = 2) are returned.
/// </summary>
public static class TensorBoardEvents
{
    public sealed record Scalar(string Tag, long Step, float Value, double WallTime);

    /// <summary>The <c>file_version</c> of the file's first record ("brain.Event:2" in every TensorBoard event file).</summary>
    public static string? Version(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return Fields(bytes.AsSpan(12, length).ToArray()).Where(f => f.Field == 3 && f.Wire == 2).Select(f => Encoding.UTF8.GetString(f.Data!)).FirstOrDefault();
    }

    public static List<Scalar> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var scalars = new List<Scalar>();
        var pos = 0;
        while (pos < bytes.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(pos));
            Check(bytes.AsSpan(pos, 8), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 8)), path);
            var record = bytes.AsSpan(pos + 12, length);
            Check(record, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 12 + length)), path);
            ReadEvent(record, scalars);
            pos += 12 + length + 4;
        }

        return scalars;
    }

    private static void ReadEvent(ReadOnlySpan<byte> e, List<Scalar> scalars)
    {
        long step = 0;
        double wallTime = 0;
        var summaries = new List<byte[]>();
        foreach (var (field, wire, value, data) in Fields(e.ToArray()))
        {
            if (field == 1 && wire == 1)
            {
                wallTime = BitConverter.UInt64BitsToDouble(value);
            }
            else if (field == 2 && wire == 0)
            {
                step = (long)value;
            }
            else if (field == 5 && wire == 2)
            {
                summaries.Add(data!);
            }
        }

        foreach (var summary in summaries)
        {
            foreach (var (field, wire, _, data) in Fields(summary))
            {
                if (field != 1 || wire != 2)
                {
                    continue;
                }

                string? tag = null;
                float? simple = null;
                foreach (var (f, w, v, d) in Fields(data!))
                {
                    if (f == 1 && w == 2)
                    {
                        tag = Encoding.UTF8.GetString(d!);
                    }
                    else if (f == 2 && w == 5)
                    {
                        simple = BitConverter.Int32BitsToSingle((int)v);
                    }
                }

                if (tag is not null && simple is { } x)
                {
                    scalars.Add(new Scalar(tag, step, x, wallTime));
                }
            }
        }
    }

    private static IEnumerable<(int Field, int Wire, ulong Value, byte[]? Data)> Fields(byte[] m)
    {
        var pos = 0;
        while (pos < m.Length)
        {
            var key = Varint(m, ref pos);
            var (field, wire) = ((int)(key >> 3), (int)(key & 7));
            switch (wire)
            {
                case 0:
                    yield return (field, wire, Varint(m, ref pos), null);
                    break;
                case 1:
                    yield return (field, wire, BinaryPrimitives.ReadUInt64LittleEndian(m.AsSpan(pos)), null);
                    pos += 8;
                    break;
                case 2:
                    var n = (int)Varint(m, ref pos);
                    yield return (field, wire, 0, m.AsSpan(pos, n).ToArray());
                    pos += n;
                    break;
                case 5:
                    yield return (field, wire, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(pos)), null);
                    pos += 4;
                    break;
                default:
                    throw new InvalidDataException($"protobuf wire type {wire} at byte {pos}");
            }
        }
    }

    private static ulong Varint(byte[] m, ref int pos)
    {
        ulong result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = m[pos++];
            result |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }
    }

    private static void Check(ReadOnlySpan<byte> data, uint masked, string path)
    {
        var crc = Crc32C(data);
        var expected = ((crc >> 15) | (crc << 17)) + 0xa282ead8;
        if (expected != masked)
        {
            throw new InvalidDataException($"{path}: a TFRecord checksum does not match");
        }
    }

    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}
