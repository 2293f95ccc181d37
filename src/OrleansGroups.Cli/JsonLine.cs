using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OrleansGroups.Cli;

/// <summary>Compact, single-line JSON written field by field, so the field order is the documented one.</summary>
internal static class JsonLine
{
    // Relaxed escaping keeps non-ASCII text readable (the output is never embedded in HTML).
    private static readonly JsonWriterOptions Options = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(TextWriter output, Action<Utf8JsonWriter> write) => output.WriteLine(ToString(write));

    public static string ToString(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            write(writer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
