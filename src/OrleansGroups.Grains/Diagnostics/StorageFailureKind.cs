using Azure;
using OrleansGroups.Storage;

namespace OrleansGroups.Diagnostics;

/// <summary>
/// Sorts storage failures into a few kinds an operator can act on, the <c>error.type</c> of
/// <c>orleansgroups.storage.failures</c>: a small fixed set, so the metric's cardinality stays bounded.
/// </summary>
internal static class StorageFailureKind
{
    /// <summary>The request timed out or was cancelled.</summary>
    public const string Timeout = "timeout";

    /// <summary>Storage could not be reached, or answered with a server error (5xx, connection refused).</summary>
    public const string Unavailable = "unavailable";

    /// <summary>Storage throttled the request (429, 503 server busy).</summary>
    public const string Throttled = "throttled";

    /// <summary>A condition failed: another writer, an ETag mismatch, a sealed segment (409, 412).</summary>
    public const string Conflict = "conflict";

    /// <summary>The blob or container is missing (404).</summary>
    public const string NotFound = "not_found";

    /// <summary>Credentials or permissions were refused (401, 403).</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>Anything else.</summary>
    public const string Other = "_OTHER";

    public static string Of(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case LogWriteConflictException:
                case Orleans.Storage.InconsistentStateException:
                    return Conflict;
                case RequestFailedException { Status: 0 }:
                    return Unavailable;
                case RequestFailedException { Status: 429 } or RequestFailedException { Status: 503, ErrorCode: "ServerBusy" }:
                    return Throttled;
                case RequestFailedException { Status: 409 or 412 }:
                    return Conflict;
                case RequestFailedException { Status: 404 }:
                    return NotFound;
                case RequestFailedException { Status: 401 or 403 }:
                    return Unauthorized;
                case RequestFailedException { Status: >= 500 }:
                    return Unavailable;
                case TimeoutException or OperationCanceledException:
                    return Timeout;
                case HttpRequestException or System.Net.Sockets.SocketException or IOException:
                    return Unavailable;
            }
        }
        return Other;
    }
}
