using System.Globalization;
using System.Text.Json;

namespace OrleansGroups.KafkaCodegen;

/// <summary>A version range of Kafka's message schemas: "none", "3", "3+" or "3-5".</summary>
public readonly record struct VersionRange(short Lowest, short Highest)
{
    public static readonly VersionRange None = new(1, 0);

    public bool IsEmpty => Lowest > Highest;

    public static VersionRange Parse(string? text)
    {
        text = text?.Trim();
        if (string.IsNullOrEmpty(text) || text == "none")
        {
            return None;
        }
        if (text.EndsWith('+'))
        {
            return new(short.Parse(text[..^1], CultureInfo.InvariantCulture), short.MaxValue);
        }
        var dash = text.IndexOf('-');
        return dash < 0
            ? new(short.Parse(text, CultureInfo.InvariantCulture), short.Parse(text, CultureInfo.InvariantCulture))
            : new(short.Parse(text[..dash], CultureInfo.InvariantCulture), short.Parse(text[(dash + 1)..], CultureInfo.InvariantCulture));
    }

    public VersionRange Intersect(VersionRange other)
    {
        if (IsEmpty || other.IsEmpty)
        {
            return None;
        }
        var r = new VersionRange(Math.Max(Lowest, other.Lowest), Math.Min(Highest, other.Highest));
        return r.IsEmpty ? None : r;
    }

    public bool Contains(VersionRange other) => other.IsEmpty || (!IsEmpty && Lowest <= other.Lowest && Highest >= other.Highest);
}

/// <summary>One field of a message or struct, as the JSON schema declares it.</summary>
public sealed record FieldSpec(
    string Name,
    string Type,
    VersionRange Versions,
    VersionRange NullableVersions,
    VersionRange TaggedVersions,
    int? Tag,
    VersionRange? FlexibleVersions,
    string? Default,
    string? About,
    IReadOnlyList<FieldSpec> Fields)
{
    public bool IsArray => Type.StartsWith("[]", StringComparison.Ordinal);

    /// <summary>The element type of an array, or the type itself.</summary>
    public string ElementType => IsArray ? Type[2..] : Type;

    public bool IsTagged => Tag is not null;

    public static readonly HashSet<string> Primitives =
        ["bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "string", "bytes", "records", "uuid"];

    public bool IsStruct => !Primitives.Contains(ElementType);

    public static FieldSpec Parse(JsonElement e)
    {
        var fields = e.TryGetProperty("fields", out var f) ? f.EnumerateArray().Select(Parse).ToList() : [];
        return new FieldSpec(
            e.GetProperty("name").GetString()!,
            Str(e, "type") ?? e.GetProperty("name").GetString()!,
            VersionRange.Parse(Str(e, "versions")),
            VersionRange.Parse(Str(e, "nullableVersions")),
            VersionRange.Parse(Str(e, "taggedVersions")),
            e.TryGetProperty("tag", out var tag) ? tag.GetInt32() : null,
            Str(e, "flexibleVersions") is { } flex ? VersionRange.Parse(flex) : null,
            e.TryGetProperty("default", out var d) ? (d.ValueKind == JsonValueKind.String ? d.GetString() : d.GetRawText()) : null,
            Str(e, "about"),
            fields);
    }

    internal static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>A whole message schema (a request, a response or a header).</summary>
public sealed record MessageSpec(
    string Name,
    string Kind,
    short? ApiKey,
    VersionRange ValidVersions,
    VersionRange FlexibleVersions,
    IReadOnlyList<FieldSpec> Fields,
    IReadOnlyList<FieldSpec> CommonStructs)
{
    public static MessageSpec Parse(string json)
    {
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
        });
        var root = doc.RootElement;
        return new MessageSpec(
            root.GetProperty("name").GetString()!,
            root.GetProperty("type").GetString()!,
            root.TryGetProperty("apiKey", out var key) ? key.GetInt16() : null,
            VersionRange.Parse(root.GetProperty("validVersions").GetString()),
            VersionRange.Parse(FieldSpec.Str(root, "flexibleVersions")),
            root.GetProperty("fields").EnumerateArray().Select(FieldSpec.Parse).ToList(),
            root.TryGetProperty("commonStructs", out var cs) ? cs.EnumerateArray().Select(FieldSpec.Parse).ToList() : []);
    }
}
