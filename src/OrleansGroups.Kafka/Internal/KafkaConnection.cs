using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using OrleansGroups.Kafka.Protocol;

namespace OrleansGroups.Kafka.Internal;

/// <summary>
/// One client connection: reads size-prefixed frames, answers each request in order (as a Kafka broker does: one
/// request of a connection at a time), and closes the connection, with a log line, on a frame it cannot trust.
/// </summary>
internal sealed class KafkaConnection(ConnectionContext connection, KafkaRequestHandler handler, int maxFrameBytes, ILogger logger)
{
    public async Task RunAsync()
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var cancel = connection.ConnectionClosed;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cancel);
                var buffer = result.Buffer;
                while (TryReadFrame(ref buffer, out var frame))
                {
                    var response = await handler.HandleAsync(frame, cancel);
                    if (response is { } bytes)
                    {
                        await output.WriteAsync(bytes, cancel);
                    }
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is KafkaProtocolException or UnsupportedKafkaVersionException)
        {
            Log.ConnectionClosed(logger, connection.ConnectionId, connection.RemoteEndPoint, e.Message);
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException)
        {
            // The client went away.
        }
        finally
        {
            await input.CompleteAsync();
            await output.CompleteAsync();
        }
    }

    /// <summary>Takes one whole frame (int32 size, then that many bytes) off the buffer, copied so it outlives the read.</summary>
    private bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out byte[] frame)
    {
        frame = [];
        if (buffer.Length < 4)
        {
            return false;
        }
        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        var size = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (size < 8 || size > maxFrameBytes)
        {
            // Smaller than a request header's fixed part, or above the cap: nothing buffered, the connection goes.
            throw new KafkaProtocolException($"frame size {size} outside 8..{maxFrameBytes}");
        }
        if (buffer.Length < 4 + size)
        {
            return false;
        }
        frame = buffer.Slice(4, size).ToArray();
        buffer = buffer.Slice(4 + size);
        return true;
    }
}
