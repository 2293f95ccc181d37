using OrleansGroups.Core.Log;

namespace OrleansGroups.Core.Tests.Log;

public class VarIntTests
{
    // Zig-zag: 0→0, -1→1, 1→2, -2→3, 63→126 (one byte), 64→128 (two bytes).
    [Theory]
    [InlineData(0, new byte[] { 0x00 })]
    [InlineData(-1, new byte[] { 0x01 })]
    [InlineData(1, new byte[] { 0x02 })]
    [InlineData(-2, new byte[] { 0x03 })]
    [InlineData(63, new byte[] { 0x7E })]
    [InlineData(64, new byte[] { 0x80, 0x01 })]
    [InlineData(int.MaxValue, new byte[] { 0xFE, 0xFF, 0xFF, 0xFF, 0x0F })]
    [InlineData(int.MinValue, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    public void IntEncodesLikeKafka(int value, byte[] expected)
    {
        var buffer = new byte[5];
        var written = VarInt.Write(buffer, value);
        Assert.Equal(expected, buffer[..written]);
        Assert.Equal(expected.Length, VarInt.SizeOf(value));
        var position = 0;
        Assert.True(VarInt.TryRead(expected, ref position, out int read));
        Assert.Equal((value, expected.Length), (read, position));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(1_700_000_000_000L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void LongRoundTrips(long value)
    {
        var buffer = new byte[10];
        var written = VarInt.Write(buffer, value);
        Assert.Equal(written, VarInt.SizeOf(value));
        var position = 0;
        Assert.True(VarInt.TryRead(buffer, ref position, out long read));
        Assert.Equal((value, written), (read, position));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x80 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x1F })]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 })]
    public void IntRejectsTruncatedOrOverlong(byte[] input)
    {
        var position = 0;
        Assert.False(VarInt.TryRead(input, ref position, out int _));
        Assert.Equal(0, position);
    }

    [Fact]
    public void LongRejectsMoreThan64Bits()
    {
        byte[] input = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x03];
        var position = 0;
        Assert.False(VarInt.TryRead(input, ref position, out long _));
    }
}
