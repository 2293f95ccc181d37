using System.Net;
using System.Net.Sockets;

namespace OrleansGroups.TestKit;

/// <summary>Free TCP ports on the loopback interface, for silos, gateways and emulators in tests.</summary>
public static class FreePorts
{
    // Never hand out the same port twice in one test run, even after its listener closed.
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// Returns <paramref name="count"/> distinct ports that were free on 127.0.0.1 a moment ago
    /// (bound with port 0 together, then released) and were not returned before by this process.
    /// </summary>
    /// <param name="count">How many ports, at least 1.</param>
    /// <returns>The ports.</returns>
    public static int[] Get(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var listeners = new List<TcpListener>();
        var ports = new List<int>(count);
        try
        {
            lock (HandedOut)
            {
                while (ports.Count < count)
                {
                    var listener = new TcpListener(IPAddress.Loopback, 0);
                    listener.Start();
                    listeners.Add(listener);
                    var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                    if (HandedOut.Add(port))
                    {
                        ports.Add(port);
                    }
                }
            }
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }

        return [.. ports];
    }

    /// <summary>Returns one free loopback port (see <see cref="Get"/>).</summary>
    /// <returns>The port.</returns>
    public static int GetOne() => Get(1)[0];
}
