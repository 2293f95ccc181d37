using System.Buffers.Binary;
using System.Text;

namespace OrleansGroups.Kafka.Protocol;

/// <summary>Writes Kafka's primitive types (big-endian) into a growable buffer.</summary>
internal sealed class KafkaWriter
{
    private byte[] _buffer;
    private int _length;

    public KafkaWriter(int capacity = 256) => _buffer = new byte[Math.Max(16, capacity)];

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    public byte[] ToArray() => WrittenSpan.ToArray();

    private Span<byte> Grow(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }

    /// <summary>Overwrites an int32 already written at <paramref name="position"/> (a size prefix).</summary>
    public void PatchInt32(int position, int value) => BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(position, 4), value);

    public void WriteBool(bool value) => Grow(1)[0] = value ? (byte)1 : (byte)0;

    public void WriteInt8(sbyte value) => Grow(1)[0] = (byte)value;

    public void WriteInt16(short value) => BinaryPrimitives.WriteInt16BigEndian(Grow(2), value);

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Grow(2), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32BigEndian(Grow(4), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Grow(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64BigEndian(Grow(8), value);

    public void WriteFloat64(double value) => BinaryPrimitives.WriteDoubleBigEndian(Grow(8), value);

    public void WriteUuid(Guid value) => value.TryWriteBytes(Grow(16), bigEndian: true, out _);

    public void WriteRaw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Grow(bytes.Length));

    public void WriteUnsignedVarInt(int value)
    {
        var v = (uint)value;
        while (v >= 0x80)
        {
            Grow(1)[0] = (byte)(v | 0x80);
            v >>= 7;
        }
        Grow(1)[0] = (byte)v;
    }

    private void WriteLength(int length, bool flexible, bool shortLength)
    {
        if (flexible)
        {
            WriteUnsignedVarInt(length + 1);
        }
        else if (shortLength)
        {
            WriteInt16(checked((short)length));
        }
        else
        {
            WriteInt32(length);
        }
    }

    private static void EnsureNullable(bool nullable, string field)
    {
        if (!nullable)
        {
            throw new InvalidOperationException($"Field {field} is null, but this version does not allow null.");
        }
    }

    public void WriteString(string? value, bool flexible, bool nullable, string field)
    {
        if (value is null)
        {
            EnsureNullable(nullable, field);
            WriteLength(-1, flexible, shortLength: true);
            return;
        }
        var count = Encoding.UTF8.GetByteCount(value);
        WriteLength(count, flexible, shortLength: true);
        Encoding.UTF8.GetBytes(value, Grow(count));
    }

    public void WriteBytes(byte[]? value, bool flexible, bool nullable, string field)
    {
        if (value is null)
        {
            EnsureNullable(nullable, field);
            WriteLength(-1, flexible, shortLength: false);
            return;
        }
        WriteLength(value.Length, flexible, shortLength: false);
        WriteRaw(value);
    }

    public void WriteArrayLength(int count, bool flexible) => WriteLength(count, flexible, shortLength: false);

    public void WriteNullArray(bool flexible, bool nullable, string field)
    {
        EnsureNullable(nullable, field);
        WriteLength(-1, flexible, shortLength: false);
    }

    public void WriteStructPresence(bool present, bool nullable, string field)
    {
        if (!present)
        {
            EnsureNullable(nullable, field);
        }
        WriteInt8(present ? (sbyte)1 : (sbyte)-1);
    }

    /// <summary>One tagged field: tag, size, then the bytes <paramref name="value"/> holds.</summary>
    public void WriteTaggedField(int tag, KafkaWriter value)
    {
        WriteUnsignedVarInt(tag);
        WriteUnsignedVarInt(value.Length);
        WriteRaw(value.WrittenSpan);
    }
}
