using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace StableAlignment.Learning;

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header of names, dtypes,
/// shapes and byte ranges, then the raw little-endian data). Written files carry <c>{"format": "pt"}</c> metadata,
/// which transformers checks before it loads a file.
/// </summary>
public static class SafetensorsFile
{
    private static readonly Dictionary<string, (ScalarType Type, int Size)> Types = new()
    {
        ["F32"] = (ScalarType.Float32, 4), ["BF16"] = (ScalarType.BFloat16, 2), ["F16"] = (ScalarType.Float16, 2), ["F64"] = (ScalarType.Float64, 8),
        ["I64"] = (ScalarType.Int64, 8), ["I32"] = (ScalarType.Int32, 4), ["I16"] = (ScalarType.Int16, 2), ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1), ["BOOL"] = (ScalarType.Bool, 1),
    };

    /// <summary>Names, dtypes and shapes of a file's tensors, without reading their data.</summary>
    public static IReadOnlyDictionary<string, (string DType, long[] Shape)> ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        return Entries(stream, path).ToDictionary(e => e.Name, e => (e.DType, e.Shape));
    }

    /// <summary>
    /// Every tensor of the file, on the CPU, in the file's dtype; <paramref name="select"/> may skip names. The whole
    /// header is checked against the file before anything is allocated: known dtypes, byte ranges that match the shapes
    /// and lie inside the file.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path, Func<string, bool>? select = null)
    {
        using var stream = File.OpenRead(path);
        var result = new Dictionary<string, Tensor>();
        foreach (var entry in Entries(stream, path).OrderBy(e => e.Start))
        {
            if (select is not null && !select(entry.Name))
            {
                continue;
            }

            var tensor = empty(entry.Shape, Types[entry.DType].Type);
            stream.Position = entry.Start;
            tensor.ReadBytesFromStream(stream);
            result[entry.Name] = tensor;
        }

        return result;
    }

    private sealed record Entry(string Name, string DType, long[] Shape, long Start);

    private static List<Entry> Entries(Stream stream, string path)
    {
        try
        {
            return ParseEntries(stream, path);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or JsonException)
        {
            // Bad UTF-8 in a name, a duplicate name, a value of the wrong type: the header is not what safetensors promises.
            throw new InvalidDataException($"{path}: the safetensors header is malformed ({e.Message}).", e);
        }
    }

    private static List<Entry> ParseEntries(Stream stream, string path)
    {
        var (header, dataStart) = Header(stream, path);
        var entries = new List<Entry>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                continue;
            }

            InvalidDataException Bad(string reason) => new($"{path}: tensor '{name}' {reason}.");
            if (node is not JsonObject)
            {
                throw Bad("is not described by a JSON object");
            }

            var dtype = node["dtype"] is JsonValue d && d.TryGetValue<string>(out var text) ? text : throw Bad("has no dtype");
            if (!Types.TryGetValue(dtype, out var type))
            {
                throw Bad($"has dtype {dtype}, which is not supported");
            }

            var shape = node["shape"] is JsonArray dims && dims.All(x => x is JsonValue v && v.TryGetValue<long>(out var n) && n >= 0)
                ? dims.Select(x => x!.GetValue<long>()).ToArray() : throw Bad("has no valid shape");
            var offsets = node["data_offsets"] is JsonArray { Count: 2 } o && o.All(x => x is JsonValue v && v.TryGetValue<long>(out var n) && n >= 0)
                ? o.Select(x => x!.GetValue<long>()).ToArray() : throw Bad("has no valid data_offsets");
            var elements = shape.Aggregate(1.0, (a, b) => a * b);
            if (offsets[1] < offsets[0] || elements * type.Size != offsets[1] - offsets[0])
            {
                throw Bad($"has {offsets[1] - offsets[0]} bytes for shape [{string.Join(", ", shape)}] {dtype}");
            }

            if (dataStart + offsets[1] > stream.Length)
            {
                throw Bad($"ends at byte {dataStart + offsets[1]}, past the end of the file ({stream.Length} bytes): the file is truncated");
            }

            entries.Add(new Entry(name, dtype, shape, dataStart + offsets[0]));
        }

        return entries;
    }

    /// <summary>Writes tensors (moved to the CPU, made contiguous) in name order.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var items = tensors.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => (t.Key, Tensor: t.Value.detach().cpu().contiguous()))
            .ToList();
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, tensor) in items)
        {
            var size = tensor.NumberOfElements * tensor.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = Types.First(t => t.Value.Type == tensor.dtype).Key,
                ["shape"] = new JsonArray([.. tensor.shape.Select(d => JsonValue.Create(d))]),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }

        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (json.Length + 7) / 8 * 8;
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, padded);
        stream.Write(length);
        stream.Write(json);
        stream.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
        foreach (var (_, tensor) in items)
        {
            tensor.WriteBytesToStream(stream);
        }
    }

    private static (JsonObject Header, long DataStart) Header(Stream stream, string path)
    {
        Span<byte> length = stackalloc byte[8];
        if (stream.Read(length) != 8)
        {
            throw new InvalidDataException($"{path} is not a safetensors file (shorter than its header).");
        }

        var size = BinaryPrimitives.ReadInt64LittleEndian(length);
        if (size <= 0 || size > 100_000_000 || size > stream.Length - 8)
        {
            throw new InvalidDataException($"{path} is not a safetensors file (header length {size}).");
        }

        var bytes = new byte[size];
        stream.ReadExactly(bytes);
        try
        {
            return (JsonNode.Parse(bytes) as JsonObject ?? throw new InvalidDataException($"{path}: the safetensors header is not a JSON object."), 8 + size);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid JSON ({e.Message}).");
        }
    }
}
