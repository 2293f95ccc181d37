using System.Text;
using OrleansGroups.Core.Log;

namespace OrleansGroups.Core.Tests.Log;

public class Crc32CTests
{
    [Fact]
    public void MatchesStandardCheckValue()
    {
        var input = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(0xE3069283u, Crc32C.Compute(input));
        Assert.Equal(0xE3069283u, Crc32C.ComputeSoftware(input));
    }

    // RFC 3720 (iSCSI) B.4 test vectors.
    [Fact]
    public void MatchesIscsiVectors()
    {
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
    }

    [Fact]
    public void HardwareAndTablePathsAgreeOnEveryLength()
    {
        var data = new byte[300];
        new Random(42).NextBytes(data);
        for (var length = 0; length <= data.Length; length++)
            Assert.Equal(Crc32C.ComputeSoftware(data.AsSpan(0, length)), Crc32C.Compute(data.AsSpan(0, length)));
    }
}
