using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;
using ArmCrc32 = System.Runtime.Intrinsics.Arm.Crc32;

namespace OrleansGroups.Core.Log;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of Kafka's record batches. System.IO.Hashing ships only the IEEE
/// CRC-32, so this uses the SSE4.2 / ARMv8 CRC32C instructions where present and a table otherwise.
/// </summary>
public static class Crc32C
{
    private const uint ReflectedPolynomial = 0x82F63B78;
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final XOR 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(~0u, data);

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            for (; data.Length >= 8; data = data[8..])
                crc = (uint)Sse42.X64.Crc32(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            foreach (var b in data)
                crc = Sse42.Crc32(crc, b);
            return crc;
        }
        if (Sse42.IsSupported)
        {
            for (; data.Length >= 4; data = data[4..])
                crc = Sse42.Crc32(crc, BinaryPrimitives.ReadUInt32LittleEndian(data));
            foreach (var b in data)
                crc = Sse42.Crc32(crc, b);
            return crc;
        }
        if (ArmCrc32.Arm64.IsSupported)
        {
            for (; data.Length >= 8; data = data[8..])
                crc = ArmCrc32.Arm64.ComputeCrc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            foreach (var b in data)
                crc = ArmCrc32.ComputeCrc32C(crc, b);
            return crc;
        }
        if (ArmCrc32.IsSupported)
        {
            for (; data.Length >= 4; data = data[4..])
                crc = ArmCrc32.ComputeCrc32C(crc, BinaryPrimitives.ReadUInt32LittleEndian(data));
            foreach (var b in data)
                crc = ArmCrc32.ComputeCrc32C(crc, b);
            return crc;
        }
        return UpdateSoftware(crc, data);
    }

    /// <summary>The table-driven path, exposed so tests can check it against the hardware path.</summary>
    internal static uint ComputeSoftware(ReadOnlySpan<byte> data) => ~UpdateSoftware(~0u, data);

    private static uint UpdateSoftware(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
            crc = Table[(byte)(crc ^ b)] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var bit = 0; bit < 8; bit++)
                c = (c & 1) != 0 ? (c >> 1) ^ ReflectedPolynomial : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
