using System.Net;
using Microsoft.Extensions.Logging;

namespace OrleansGroups.Kafka;

/// <summary>The Kafka listener's log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Kafka listener on port {Port}: broker {NodeId} advertised as {Host}:{Port}")]
    public static partial void Listening(ILogger logger, int port, int nodeId, string host);

    [LoggerMessage(2, LogLevel.Warning, "Kafka connection {Connection} from {Remote} closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, string connection, EndPoint? remote, string reason);

    [LoggerMessage(3, LogLevel.Warning, "Kafka request {ApiKey} v{Version} failed with an unexpected error; answered {ErrorCode}")]
    public static partial void UnexpectedError(ILogger logger, Exception exception, short apiKey, short version, short errorCode);
}
