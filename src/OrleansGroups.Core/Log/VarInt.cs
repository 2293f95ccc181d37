namespace OrleansGroups.Core.Log;

/// <summary>
/// Zig-zag LEB128 varints as Kafka's <c>ByteUtils.writeVarint/writeVarlong</c> write them: small magnitudes,
/// including -1 for "null", take one byte.
/// </summary>
internal static class VarInt
{
    public static int SizeOf(int value) => SizeOfUnsigned(ZigZag(value));

    public static int SizeOf(long value) => SizeOfUnsigned(ZigZag(value));

    public static int Write(Span<byte> destination, int value) => WriteUnsigned(destination, ZigZag(value));

    public static int Write(Span<byte> destination, long value) => WriteUnsigned(destination, ZigZag(value));

    /// <summary>Reads a varint at <paramref name="position"/> and advances past it; false, leaving the position alone, when it runs past the end or exceeds 32 bits.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, ref int position, out int value)
    {
        value = 0;
        var end = position;
        if (!TryReadUnsigned(source, ref end, maxBytes: 5, out var raw) || raw > uint.MaxValue)
            return false;
        position = end;
        var u = (uint)raw;
        value = (int)(u >> 1) ^ -(int)(u & 1);
        return true;
    }

    /// <summary>Reads a varlong at <paramref name="position"/> and advances past it; false, leaving the position alone, when it runs past the end or exceeds 64 bits.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, ref int position, out long value)
    {
        value = 0;
        if (!TryReadUnsigned(source, ref position, maxBytes: 10, out var raw))
            return false;
        value = (long)(raw >> 1) ^ -(long)(raw & 1);
        return true;
    }

    private static uint ZigZag(int value) => (uint)((value << 1) ^ (value >> 31));

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static int SizeOfUnsigned(ulong value)
    {
        var size = 1;
        for (; value >= 0x80; value >>= 7)
            size++;
        return size;
    }

    private static int WriteUnsigned(Span<byte> destination, ulong value)
    {
        var i = 0;
        for (; value >= 0x80; value >>= 7)
            destination[i++] = (byte)(value | 0x80);
        destination[i++] = (byte)value;
        return i;
    }

    private static bool TryReadUnsigned(ReadOnlySpan<byte> source, ref int position, int maxBytes, out ulong value)
    {
        value = 0;
        for (var i = 0; i < maxBytes; i++)
        {
            if (position + i >= source.Length)
                return false;
            var b = source[position + i];
            var chunk = (ulong)(b & 0x7f);
            var shift = 7 * i;
            // The last allowed byte may only carry the bits that still fit in 64 bits.
            if (shift == 63 && chunk > 1)
                return false;
            value |= chunk << shift;
            if ((b & 0x80) == 0)
            {
                position += i + 1;
                return true;
            }
        }
        return false;
    }
}
