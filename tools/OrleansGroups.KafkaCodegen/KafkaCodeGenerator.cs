using System.Globalization;
using System.Text;

namespace OrleansGroups.KafkaCodegen;

/// <summary>
/// Turns Kafka's message schemas (the JSON files Kafka's own Java codecs are generated from) into C# readers and
/// writers, one class per message with a nested class per struct, for the version range we support of each API.
/// The output is deterministic: the same schemas give byte-for-byte the same files, which a test checks against the
/// files checked in.
/// </summary>
public static class KafkaCodeGenerator
{
    public const string Namespace = "OrleansGroups.Kafka.Protocol.Messages";

    /// <summary>
    /// The versions we read and write, per API (request and response share a range) and per header. Produce starts at 3
    /// (the first with v2 record batches), Fetch at 4 (isolation level) and stops at 12 (13 names topics by id),
    /// ListOffsets stops at 6 (7 adds the max-timestamp lookup), DeleteTopics at 5 (6 deletes by topic id).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, VersionRange> Supported = new Dictionary<string, VersionRange>
    {
        ["RequestHeader"] = new(1, 2),
        ["ResponseHeader"] = new(0, 1),
        ["ApiVersions"] = new(0, 3),
        ["Metadata"] = new(0, 12),
        ["Produce"] = new(3, 9),
        ["InitProducerId"] = new(0, 4),
        ["Fetch"] = new(4, 12),
        ["ListOffsets"] = new(1, 6),
        ["CreateTopics"] = new(0, 7),
        ["DeleteTopics"] = new(0, 5),
        ["FindCoordinator"] = new(0, 4),
    };

    /// <summary>Generates every file: file name → content, for each schema in <paramref name="schemaDirectory"/>.</summary>
    public static SortedDictionary<string, string> Generate(string schemaDirectory)
    {
        var output = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var apis = new List<(short Key, string Name, VersionRange Range)>();
        foreach (var path in Directory.GetFiles(schemaDirectory, "*.json").OrderBy(p => p, StringComparer.Ordinal))
        {
            var spec = MessageSpec.Parse(File.ReadAllText(path));
            var family = spec.Kind switch
            {
                "request" => spec.Name[..^"Request".Length],
                "response" => spec.Name[..^"Response".Length],
                _ => spec.Name,
            };
            if (!Supported.TryGetValue(family, out var range))
            {
                throw new InvalidOperationException($"{Path.GetFileName(path)}: no supported version range for '{family}'; add one to {nameof(Supported)}.");
            }
            if (!spec.ValidVersions.Contains(range))
            {
                throw new InvalidOperationException($"{spec.Name}: supported versions {range.Lowest}-{range.Highest} exceed the schema's {spec.ValidVersions.Lowest}-{spec.ValidVersions.Highest}.");
            }
            output[spec.Name + ".g.cs"] = new MessageEmitter(spec, range, Path.GetFileName(path)).Emit();
            if (spec.Kind == "request")
            {
                apis.Add((spec.ApiKey!.Value, family, range));
            }
        }
        output["SupportedApis.g.cs"] = EmitSupportedApis(apis.OrderBy(a => a.Key).ToList());
        return output;
    }

    private static string EmitSupportedApis(List<(short Key, string Name, VersionRange Range)> apis)
    {
        var sb = new StringBuilder();
        sb.Append(MessageEmitter.FileHeader("the request schemas"));
        sb.Append("namespace ").Append(Namespace).Append(";\n\n");
        sb.Append("/// <summary>The APIs this listener implements and their version ranges (what ApiVersions answers).</summary>\n");
        sb.Append("internal static class SupportedApis\n{\n");
        foreach (var (key, name, _) in apis)
        {
            sb.Append("    public const short ").Append(name).Append(" = ").Append(key.ToString(CultureInfo.InvariantCulture)).Append(";\n");
        }
        sb.Append("\n    /// <summary>API key, lowest and highest supported version, by API key.</summary>\n");
        sb.Append("    public static readonly (short ApiKey, short Lowest, short Highest)[] All =\n    [\n");
        foreach (var (key, name, range) in apis)
        {
            sb.Append("        (").Append(name).Append(", ").Append(range.Lowest.ToString(CultureInfo.InvariantCulture))
                .Append(", ").Append(range.Highest.ToString(CultureInfo.InvariantCulture)).Append("),\n");
        }
        sb.Append("    ];\n}\n");
        return sb.ToString();
    }
}

/// <summary>Emits one message's file.</summary>
internal sealed class MessageEmitter(MessageSpec spec, VersionRange supported, string schemaFile)
{
    private readonly StringBuilder _sb = new();
    private readonly Dictionary<string, IReadOnlyList<FieldSpec>> _structs = new(StringComparer.Ordinal);
    private readonly List<string> _structOrder = [];
    private readonly Dictionary<string, string> _classNames = new(StringComparer.Ordinal);
    private int _indent;

    public static string FileHeader(string source) =>
        "// <auto-generated>\n" +
        $"// Generated by tools/OrleansGroups.KafkaCodegen from {source}. Do not edit: change the generator or the\n" +
        "// schema and run the generator again (a test fails while this file and the generator disagree).\n" +
        "// </auto-generated>\n" +
        "#nullable enable\n\n";

    public string Emit()
    {
        foreach (var common in spec.CommonStructs)
        {
            AddStruct(common.Name, common.Fields);
        }
        Collect(spec.Fields);
        foreach (var common in spec.CommonStructs)
        {
            Collect(common.Fields);
        }
        CheckNames();

        _sb.Append(FileHeader($"Protocol/Schemas/{schemaFile}"));
        Line("using OrleansGroups.Kafka.Protocol;");
        Line("");
        Line($"namespace {KafkaCodeGenerator.Namespace};");
        Line("");
        var what = spec.ApiKey is { } k ? $"{spec.Kind} of API key {k}" : "header";
        Line($"/// <summary>Kafka's {spec.Name} ({what}), versions {supported.Lowest}-{supported.Highest}.</summary>");
        Line($"internal sealed partial class {spec.Name}");
        Open();
        if (spec.ApiKey is { } apiKey)
        {
            Line($"public const short ApiKey = {apiKey};");
        }
        Line($"public const short LowestSupportedVersion = {supported.Lowest};");
        Line($"public const short HighestSupportedVersion = {supported.Highest};");
        var flexible = spec.FlexibleVersions.Intersect(supported);
        Line("/// <summary>The first flexible version (compact encodings, tagged fields); short.MaxValue when none is supported.</summary>");
        Line($"public const short FirstFlexibleVersion = {(flexible.IsEmpty ? "short.MaxValue" : flexible.Lowest.ToString(CultureInfo.InvariantCulture))};");
        Line("");
        EmitBody(spec.Name, spec.Fields, isRoot: true);
        foreach (var name in _structOrder)
        {
            Line("");
            Line($"internal sealed partial class {ClassName(name)}");
            Open();
            EmitBody(ClassName(name), _structs[name], isRoot: false);
            Close();
        }
        Close();
        return _sb.ToString();
    }

    private void AddStruct(string name, IReadOnlyList<FieldSpec> fields)
    {
        if (_structs.ContainsKey(name))
        {
            throw new InvalidOperationException($"{spec.Name}: struct '{name}' is defined twice.");
        }
        _structs[name] = fields;
        _structOrder.Add(name);
    }

    private void Collect(IReadOnlyList<FieldSpec> fields)
    {
        foreach (var f in fields)
        {
            if (f.IsStruct && f.Fields.Count > 0)
            {
                AddStruct(f.ElementType, f.Fields);
                Collect(f.Fields);
            }
        }
    }

    private void CheckNames()
    {
        foreach (var f in AllFields(spec.Fields))
        {
            if (f.IsStruct && !_structs.ContainsKey(f.ElementType))
            {
                throw new InvalidOperationException($"{spec.Name}: field '{f.Name}' has unknown type '{f.Type}'.");
            }
        }
        foreach (var f in spec.Fields)
        {
            if (f.Name == spec.Name)
            {
                throw new InvalidOperationException($"{spec.Name}: field '{f.Name}' has the message's name.");
            }
            if (_structs.ContainsKey(f.Name))
            {
                // A root property and a nested class may not share a name in C#: the class gets a suffix.
                _classNames[f.Name] = f.Name + "Data";
            }
        }
        foreach (var (name, fields) in _structs)
        {
            if (fields.Any(f => f.Name == name))
            {
                throw new InvalidOperationException($"{spec.Name}: struct '{name}' has a field of its own name.");
            }
        }
    }

    private IEnumerable<FieldSpec> AllFields(IReadOnlyList<FieldSpec> fields) =>
        fields.Concat(_structs.Values.SelectMany(s => s));

    // ---- One class body: properties, Read, Write ----

    private void EmitBody(string className, IReadOnlyList<FieldSpec> fields, bool isRoot)
    {
        var flexibleRange = spec.FlexibleVersions.Intersect(supported);
        var flex = Condition(flexibleRange, emptyIsFalse: true)!;

        foreach (var f in fields)
        {
            if (f.About is { } about)
            {
                Line($"/// <summary>{Escape(about)}</summary>");
            }
            var init = Initializer(f);
            Line($"public {CsType(f)} {f.Name} {{ get; set; }}{(init is null ? "" : $" = {init};")}");
        }
        if (fields.Count > 0)
        {
            Line("");
        }

        // Read
        var access = isRoot ? "public" : "internal";
        Line($"{access} static {className} Read(KafkaReader reader, short version)");
        Open();
        if (isRoot)
        {
            Line($"KafkaReader.CheckVersion(version, LowestSupportedVersion, HighestSupportedVersion, \"{spec.Name}\");");
        }
        Line($"var message = new {className}();");
        foreach (var f in fields.Where(f => !f.IsTagged))
        {
            var present = Condition(f.Versions.Intersect(supported), emptyIsFalse: false);
            if (present is null)
            {
                continue;
            }
            Guarded(present, () => EmitRead(f, "message", FieldFlex(f, flex)));
        }
        var tagged = fields.Where(f => f.IsTagged && Condition(f.Versions.Intersect(f.TaggedVersions).Intersect(supported), false) is not null)
            .OrderBy(f => f.Tag).ToList();
        if (!flexibleRange.IsEmpty)
        {
            Guarded(flex, () =>
            {
                if (tagged.Count == 0)
                {
                    Line("reader.SkipTaggedFields();");
                    return;
                }
                Line("var tagCount = reader.ReadUnsignedVarInt();");
                Line("for (var tagIndex = 0; tagIndex < tagCount; tagIndex++)");
                Open();
                Line("var tag = reader.ReadUnsignedVarInt();");
                Line("var end = reader.ReadTaggedFieldEnd();");
                Line("switch (tag)");
                Open();
                foreach (var f in tagged)
                {
                    var cond = Condition(f.Versions.Intersect(f.TaggedVersions).Intersect(supported), false)!;
                    Line($"case {f.Tag}{(cond == "" ? "" : $" when {cond}")}:");
                    Open();
                    EmitRead(f, "message", "true");
                    Line("break;");
                    Close();
                }
                Close();
                Line("reader.SkipTo(end);");
                Close();
            });
        }
        Line("return message;");
        Close();
        Line("");

        // Write
        Line($"{access} void Write(KafkaWriter writer, short version)");
        Open();
        if (isRoot)
        {
            Line($"KafkaReader.CheckVersion(version, LowestSupportedVersion, HighestSupportedVersion, \"{spec.Name}\");");
        }
        foreach (var f in fields.Where(f => !f.IsTagged))
        {
            var present = Condition(f.Versions.Intersect(supported), emptyIsFalse: false);
            if (present is null)
            {
                continue;
            }
            Guarded(present, () => EmitWrite(f, f.Name, "writer", FieldFlex(f, flex)));
        }
        if (!flexibleRange.IsEmpty)
        {
            Guarded(flex, () =>
            {
                if (tagged.Count == 0)
                {
                    Line("writer.WriteUnsignedVarInt(0);");
                    return;
                }
                Line("var tagCount = 0;");
                foreach (var f in tagged)
                {
                    Line($"if ({TagPresent(f)}) tagCount++;");
                }
                Line("writer.WriteUnsignedVarInt(tagCount);");
                foreach (var f in tagged)
                {
                    Line($"if ({TagPresent(f)})");
                    Open();
                    Line("var tagged = new KafkaWriter();");
                    EmitWrite(f, f.Name + (IsReference(f) ? "!" : ""), "tagged", "true");
                    Line($"writer.WriteTaggedField({f.Tag}, tagged);");
                    Close();
                }
            });
        }
        Close();
    }

    private string TagPresent(FieldSpec f)
    {
        var cond = Condition(f.Versions.Intersect(f.TaggedVersions).Intersect(supported), false)!;
        var nonDefault = NonDefault(f);
        return cond == "" ? nonDefault : $"{cond} && {nonDefault}";
    }

    private static string FieldFlex(FieldSpec f, string flex) =>
        f.FlexibleVersions is { } own && own.IsEmpty ? "false" : flex;

    // ---- Reading and writing one field ----

    private void EmitRead(FieldSpec f, string target, string flex)
    {
        var nullable = NullableCondition(f);
        if (f.IsArray)
        {
            Open();
            Line($"var count = reader.ReadArrayLength({flex}, {nullable}, \"{f.Name}\");");
            if (nullable != "false")
            {
                Line($"if (count < 0) {target}.{f.Name} = null;");
                Line("else");
            }
            Open();
            Line($"var list = new List<{ElementCsType(f)}>(count);");
            Line("for (var i = 0; i < count; i++)");
            Open();
            Line($"list.Add({ReadValue(f.ElementType, flex, "false")});");
            Close();
            Line($"{target}.{f.Name} = list;");
            Close();
            Close();
            return;
        }
        Line($"{target}.{f.Name} = {ReadValue(f.ElementType, flex, nullable)};");
    }

    private string ReadValue(string type, string flex, string nullable) => type switch
    {
        "bool" => "reader.ReadBool()",
        "int8" => "reader.ReadInt8()",
        "int16" => "reader.ReadInt16()",
        "uint16" => "reader.ReadUInt16()",
        "int32" => "reader.ReadInt32()",
        "uint32" => "reader.ReadUInt32()",
        "int64" => "reader.ReadInt64()",
        "float64" => "reader.ReadFloat64()",
        "uuid" => "reader.ReadUuid()",
        "string" => $"reader.ReadString({flex}, {nullable}){(nullable == "false" ? "!" : "")}",
        "bytes" or "records" => $"reader.ReadBytes({flex}, {nullable}){(nullable == "false" ? "!" : "")}",
        _ when nullable == "false" => $"{ClassName(type)}.Read(reader, version)",
        _ => $"reader.ReadStructPresence({nullable}) ? {ClassName(type)}.Read(reader, version) : null",
    };

    private void EmitWrite(FieldSpec f, string value, string writer, string flex)
    {
        var nullable = NullableCondition(f);
        if (f.IsArray)
        {
            if (IsReference(f) && !value.EndsWith('!'))
            {
                Line($"if ({value} is null) {writer}.WriteNullArray({flex}, {nullable}, \"{f.Name}\");");
                Line("else");
            }
            Open();
            Line($"{writer}.WriteArrayLength({value.TrimEnd('!')}!.Count, {flex});");
            Line($"foreach (var element in {value.TrimEnd('!')}!)");
            Open();
            WriteValue(f.ElementType, "element", writer, flex, "false", f.Name);
            Close();
            Close();
            return;
        }
        WriteValue(f.ElementType, value, writer, flex, nullable, f.Name);
    }

    private void WriteValue(string type, string value, string writer, string flex, string nullable, string name)
    {
        switch (type)
        {
            case "bool": Line($"{writer}.WriteBool({value});"); break;
            case "int8": Line($"{writer}.WriteInt8({value});"); break;
            case "int16": Line($"{writer}.WriteInt16({value});"); break;
            case "uint16": Line($"{writer}.WriteUInt16({value});"); break;
            case "int32": Line($"{writer}.WriteInt32({value});"); break;
            case "uint32": Line($"{writer}.WriteUInt32({value});"); break;
            case "int64": Line($"{writer}.WriteInt64({value});"); break;
            case "float64": Line($"{writer}.WriteFloat64({value});"); break;
            case "uuid": Line($"{writer}.WriteUuid({value});"); break;
            case "string": Line($"{writer}.WriteString({value}, {flex}, {nullable}, \"{name}\");"); break;
            case "bytes":
            case "records": Line($"{writer}.WriteBytes({value}, {flex}, {nullable}, \"{name}\");"); break;
            default:
                if (nullable == "false" || value.EndsWith('!') || value == "element")
                {
                    Line($"{value}.Write({writer}, version);");
                }
                else
                {
                    Line($"{writer}.WriteStructPresence({value} is not null, {nullable}, \"{name}\");");
                    Line($"{value}?.Write({writer}, version);");
                }
                break;
        }
    }

    // ---- Types, defaults, conditions ----

    private string ClassName(string structName) => _classNames.GetValueOrDefault(structName, structName);

    private string PrimitiveCsType(string type) => type switch
    {
        "bool" => "bool",
        "int8" => "sbyte",
        "int16" => "short",
        "uint16" => "ushort",
        "int32" => "int",
        "uint32" => "uint",
        "int64" => "long",
        "float64" => "double",
        "uuid" => "Guid",
        "string" => "string",
        "bytes" or "records" => "byte[]",
        _ => ClassName(type),
    };

    private string ElementCsType(FieldSpec f) => PrimitiveCsType(f.ElementType);

    /// <summary>Reference-typed properties that may hold null: nullable in some version, defaulting to null, tagged structs, records.</summary>
    private static bool IsReference(FieldSpec f) =>
        (f.IsArray || f.IsStruct || f.ElementType is "string" or "bytes" or "records")
        && (!f.NullableVersions.IsEmpty || f.Default == "null" || (f.IsStruct && !f.IsArray && f.IsTagged) || f.ElementType == "records" && !f.IsArray);

    private string CsType(FieldSpec f)
    {
        var type = f.IsArray ? $"List<{ElementCsType(f)}>" : ElementCsType(f);
        return IsReference(f) ? type + "?" : type;
    }

    private static string? Initializer(FieldSpec f)
    {
        if (f.Default == "null")
        {
            return "null";
        }
        if (f.IsArray)
        {
            return "new()";
        }
        switch (f.ElementType)
        {
            case "string": return f.Default is null ? "\"\"" : $"\"{f.Default.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"";
            case "bytes": return "[]";
            case "records": return "null";
            case "uuid": return null;
            case "bool": return f.Default is null ? null : f.Default.Trim().ToLowerInvariant();
        }
        if (f.IsStruct)
        {
            return f.IsTagged ? "null" : "new()";
        }
        return f.Default is null ? null : NumberLiteral(f.ElementType, f.Default);
    }

    private static string NumberLiteral(string type, string text)
    {
        text = text.Trim();
        var value = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.Parse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : type == "float64" ? 0 : long.Parse(text, CultureInfo.InvariantCulture);
        var digits = value.ToString(CultureInfo.InvariantCulture);
        return type switch
        {
            "int8" => $"(sbyte){digits}",
            "int16" => $"(short){digits}",
            "uint16" => $"(ushort){digits}",
            "uint32" => $"{digits}u",
            "int64" => $"{digits}L",
            "float64" => $"{double.Parse(text, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture)}d",
            _ => digits,
        };
    }

    private static string NonDefault(FieldSpec f)
    {
        if (f.IsArray)
        {
            return f.Default == "null" ? $"{f.Name} is not null" : $"{f.Name} is {{ Count: > 0 }}";
        }
        if (f.IsStruct)
        {
            return $"{f.Name} is not null";
        }
        return f.ElementType switch
        {
            "string" => f.Default == "null" ? $"{f.Name} is not null" : $"{f.Name} != {Initializer(f)}",
            "bytes" => f.Default == "null" ? $"{f.Name} is not null" : $"{f.Name} is {{ Length: > 0 }}",
            "records" => $"{f.Name} is not null",
            "uuid" => $"{f.Name} != Guid.Empty",
            "bool" => $"{f.Name} != {Initializer(f) ?? "false"}",
            _ => $"{f.Name} != {Initializer(f) ?? "0"}",
        };
    }

    private string NullableCondition(FieldSpec f)
    {
        var present = f.Versions.Intersect(supported);
        var nullable = f.NullableVersions.Intersect(present);
        if (nullable.IsEmpty)
        {
            return "false";
        }
        return nullable == present ? "true" : Condition(nullable, false)!;
    }

    /// <summary>
    /// The C# condition for "version is in <paramref name="range"/>" within the supported range: "" when always,
    /// null (or "false" when <paramref name="emptyIsFalse"/>) when never.
    /// </summary>
    private string? Condition(VersionRange range, bool emptyIsFalse)
    {
        var r = range.Intersect(supported);
        if (r.IsEmpty)
        {
            return emptyIsFalse ? "false" : null;
        }
        var parts = new List<string>();
        if (r.Lowest > supported.Lowest)
        {
            parts.Add($"version >= {r.Lowest}");
        }
        if (r.Highest < supported.Highest)
        {
            parts.Add($"version <= {r.Highest}");
        }
        return parts.Count == 0 ? (emptyIsFalse ? "true" : "") : string.Join(" && ", parts);
    }

    private void Guarded(string condition, Action body)
    {
        if (condition is "" or "true")
        {
            body();
            return;
        }
        Line($"if ({condition})");
        Open();
        body();
        Close();
    }

    private static string Escape(string text) =>
        text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    private void Open()
    {
        Line("{");
        _indent++;
    }

    private void Close()
    {
        _indent--;
        Line("}");
    }

    private void Line(string text)
    {
        if (text.Length > 0)
        {
            _sb.Append(' ', _indent * 4);
        }
        _sb.Append(text).Append('\n');
    }
}
