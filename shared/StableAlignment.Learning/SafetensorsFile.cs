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
    private static readonly Dictionary<string, ScalarType> Types = new()
    {
        ["F32"] = ScalarType.Float32, ["BF16"] = ScalarType.BFloat16, ["F16"] = ScalarType.Float16, ["F64"] = ScalarType.Float64,
        ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32, ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    /// <summary>Names, dtypes and shapes of a file's tensors, without reading their data.</summary>
    public static IReadOnlyDictionary<string, (string DType, long[] Shape)> ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        var (header, _) = Header(stream, path);
        return header.Where(e => e.Key != "__metadata__")
            .ToDictionary(e => e.Key, e => (e.Value!["dtype"]!.GetValue<string>(), e.Value["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray()));
    }

    /// <summary>Every tensor of the file, on the CPU, in the file's dtype; <paramref name="select"/> may skip names.</summary>
    public static Dictionary<string, Tensor> Load(string path, Func<string, bool>? select = null)
    {
        using var stream = File.OpenRead(path);
        var (header, dataStart) = Header(stream, path);
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, entry) in header.OrderBy(e => e.Value?["data_offsets"]?[0]?.GetValue<long>() ?? 0))
        {
            if (name == "__metadata__" || (select is not null && !select(name)))
            {
                continue;
            }

            var dtype = entry!["dtype"]!.GetValue<string>();
            if (!Types.TryGetValue(dtype, out var type))
            {
                throw new InvalidDataException($"{path}: tensor '{name}' has dtype {dtype}, which is not supported.");
            }

            var shape = entry["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var offsets = entry["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var tensor = empty(shape, type);
            if (offsets[1] - offsets[0] != tensor.NumberOfElements * tensor.ElementSize)
            {
                throw new InvalidDataException($"{path}: tensor '{name}' has {offsets[1] - offsets[0]} bytes for shape [{string.Join(", ", shape)}] {dtype}.");
            }

            stream.Position = dataStart + offsets[0];
            tensor.ReadBytesFromStream(stream);
            result[name] = tensor;
        }

        return result;
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
                ["dtype"] = Types.First(t => t.Value == tensor.dtype).Key,
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
            return (JsonNode.Parse(bytes)!.AsObject(), 8 + size);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid JSON ({e.Message}).");
        }
    }
}
