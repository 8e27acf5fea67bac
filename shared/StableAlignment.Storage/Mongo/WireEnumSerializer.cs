using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using StableAlignment.Contracts;

namespace StableAlignment.Storage;

/// <summary>
/// An enum stored by its wire name (<see cref="WireEnum{T}"/>: "simulation", "mixed_half_half"), so documents written
/// when these values were strings read back unchanged, and what is stored reads the same as what is sent.
/// </summary>
public sealed class WireEnumSerializer<T> : SerializerBase<T> where T : struct, Enum
{
    public override T Deserialize(BsonDeserializationContext context, BsonDeserializationArgs args)
    {
        var name = context.Reader.ReadString();
        return WireEnum<T>.TryParse(name, out var value) ? value : throw new FormatException($"A stored {typeof(T).Name} '{name}' is not one of {WireEnum<T>.All}.");
    }

    public override void Serialize(BsonSerializationContext context, BsonSerializationArgs args, T value) => context.Writer.WriteString(WireEnum<T>.Name(value));
}
