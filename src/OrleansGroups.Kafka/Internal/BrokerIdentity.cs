using System.Net;
using System.Text;

namespace OrleansGroups.Kafka.Internal;

/// <summary>How a silo appears to Kafka clients: a broker with a node id, a host and a port.</summary>
/// <remarks>
/// The node id is a hash of the silo's endpoint (address and silo port, not its generation), so it is stable across
/// restarts of the same silo and every silo can compute every other silo's id from the membership table: the next step,
/// a broker list with one entry per silo, needs no coordination.
/// </remarks>
internal sealed record BrokerIdentity(int NodeId, string Host, int Port, string ClusterId)
{
    /// <summary>A non-negative 31-bit FNV-1a hash of "address:port".</summary>
    public static int NodeIdFor(IPEndPoint siloEndpoint)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(siloEndpoint.ToString()))
        {
            hash = (hash ^ b) * 16777619u;
        }
        return (int)(hash & 0x7fffffff);
    }
}
