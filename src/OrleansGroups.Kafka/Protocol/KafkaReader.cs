using System.Buffers.Binary;
using System.Text;

namespace OrleansGroups.Kafka.Protocol;

/// <summary>A request or response that breaks the protocol: the connection that sent it is closed.</summary>
internal sealed class KafkaProtocolException(string message) : Exception(message);

/// <summary>A message version outside the range the generated codec supports.</summary>
internal sealed class UnsupportedKafkaVersionException(string message) : Exception(message);

/// <summary>
/// Reads Kafka's primitive types (big-endian, see the protocol guide) from one frame. Every read is bounds-checked
/// against the frame, and lengths are checked against the bytes left, so a hostile frame fails with
/// <see cref="KafkaProtocolException"/> rather than a huge allocation.
/// </summary>
internal sealed class KafkaReader(ReadOnlyMemory<byte> buffer)
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);
    private int _position;

    public int Position => _position;

    public int Remaining => buffer.Length - _position;

    public static void CheckVersion(short version, short lowest, short highest, string message)
    {
        if (version < lowest || version > highest)
        {
            throw new UnsupportedKafkaVersionException($"{message} version {version} is not supported ({lowest}-{highest}).");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new KafkaProtocolException($"truncated: {count} bytes wanted at {_position}, {Remaining} left");
        }
        var span = buffer.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    public bool ReadBool() => Take(1)[0] != 0;

    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));

    /// <summary>Kafka's uuid: 16 bytes, most significant first (RFC 4122 byte order).</summary>
    public Guid ReadUuid() => new(Take(16), bigEndian: true);

    /// <summary>An unsigned LEB128 varint of at most 5 bytes (a 32-bit value).</summary>
    public int ReadUnsignedVarInt()
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = Take(1)[0];
            value |= (uint)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return (int)value;
            }
        }
        throw new KafkaProtocolException("unsigned varint longer than 5 bytes");
    }

    /// <summary>A length: int16/int32 (-1 = null) or, in flexible versions, an unsigned varint of length + 1 (0 = null).</summary>
    private int ReadLength(bool flexible, bool shortLength, bool nullable, string what)
    {
        var length = flexible ? ReadUnsignedVarInt() - 1 : shortLength ? ReadInt16() : ReadInt32();
        if (length < -1 || (length == -1 && !nullable))
        {
            throw new KafkaProtocolException($"invalid {what} length {length}");
        }
        if (length > Remaining)
        {
            throw new KafkaProtocolException($"{what} length {length} exceeds the {Remaining} bytes left");
        }
        return length;
    }

    public string? ReadString(bool flexible, bool nullable)
    {
        var length = ReadLength(flexible, shortLength: true, nullable, "string");
        if (length < 0)
        {
            return null;
        }
        try
        {
            return StrictUtf8.GetString(Take(length));
        }
        catch (DecoderFallbackException)
        {
            throw new KafkaProtocolException("string is not valid UTF-8");
        }
    }

    public byte[]? ReadBytes(bool flexible, bool nullable)
    {
        var length = ReadLength(flexible, shortLength: false, nullable, "bytes");
        return length < 0 ? null : Take(length).ToArray();
    }

    /// <summary>An array's element count, -1 for null (only when <paramref name="nullable"/>).</summary>
    public int ReadArrayLength(bool flexible, bool nullable, string field) =>
        ReadLength(flexible, shortLength: false, nullable, $"array {field}");

    /// <summary>A nullable struct's marker: int8 -1 for null, 1 for present.</summary>
    public bool ReadStructPresence(bool nullable)
    {
        var marker = ReadInt8();
        return marker >= 0 || (nullable ? false : throw new KafkaProtocolException("null struct where none is allowed"));
    }

    /// <summary>Reads a tagged field's size and returns where the field ends.</summary>
    public int ReadTaggedFieldEnd()
    {
        var size = ReadUnsignedVarInt();
        if (size < 0 || size > Remaining)
        {
            throw new KafkaProtocolException($"tagged field of {size} bytes exceeds the {Remaining} bytes left");
        }
        return _position + size;
    }

    /// <summary>Moves to <paramref name="end"/> (the end of a tagged field), refusing to move backwards past what was read.</summary>
    public void SkipTo(int end)
    {
        if (end < _position || end > buffer.Length)
        {
            throw new KafkaProtocolException($"tagged field overran its size (at {_position}, size ends at {end})");
        }
        _position = end;
    }

    /// <summary>Skips a whole tagged-field section whose tags are all unknown.</summary>
    public void SkipTaggedFields()
    {
        var count = ReadUnsignedVarInt();
        for (var i = 0; i < count; i++)
        {
            ReadUnsignedVarInt();
            SkipTo(ReadTaggedFieldEnd());
        }
    }
}
