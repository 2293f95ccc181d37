using Orleans.Runtime;
using Orleans.Runtime.Messaging;
using OrleansGroups.Core.Errors;

namespace OrleansGroups.Client.Internal;

/// <summary>The failures after which the same request may succeed (a silo died, a connection dropped, storage blinked); everything else is final.</summary>
internal static class TransientFailures
{
    public static bool Is(Exception e) =>
        e is OrleansGroupsException { IsRetriable: true } or TimeoutException or SiloUnavailableException
            or ConnectionFailedException or OrleansMessageRejectionException;
}
