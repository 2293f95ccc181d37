using YamlDotNet.RepresentationModel;

namespace OrleansGroups.DeploymentTests;

/// <summary>Reading YAML documents (Kubernetes manifests, azure.yaml) as plain trees.</summary>
internal static class Yaml
{
    /// <summary>Every document of a (multi-document) YAML file whose root is a mapping.</summary>
    public static IReadOnlyList<YamlMappingNode> LoadDocuments(string path)
    {
        using var reader = new StreamReader(path);
        var stream = new YamlStream();
        stream.Load(reader);
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    /// <summary>The node at a path of mapping keys (strings) and sequence indexes (ints); null when absent.</summary>
    public static YamlNode? At(this YamlNode? node, params object[] path)
    {
        foreach (var step in path)
        {
            node = (node, step) switch
            {
                (YamlMappingNode map, string key) => map.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null,
                (YamlSequenceNode list, int index) => index < list.Children.Count ? list.Children[index] : null,
                _ => null,
            };
            if (node is null)
            {
                return null;
            }
        }
        return node;
    }

    /// <summary>The scalar at a path; null when absent or not a scalar.</summary>
    public static string? Str(this YamlNode? node, params object[] path) => (node.At(path) as YamlScalarNode)?.Value;

    /// <summary>The items of the sequence at a path; empty when absent.</summary>
    public static IReadOnlyList<YamlNode> Items(this YamlNode? node, params object[] path) =>
        node.At(path) is YamlSequenceNode list ? list.Children.ToList() : [];

    /// <summary>The scalar entries of the mapping at a path; empty when absent.</summary>
    public static IReadOnlyDictionary<string, string> Map(this YamlNode? node, params object[] path) =>
        node.At(path) is YamlMappingNode map
            ? map.Children.Where(c => c.Value is YamlScalarNode)
                .ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value ?? "")
            : new Dictionary<string, string>();
}
