using System.Security.Cryptography;
using System.Text;

namespace OrleansGroups;

/// <summary>Names of the Orleans providers and Azure containers OrleansGroups uses.</summary>
public static class StorageNames
{
    /// <summary>Grain storage for topic metadata, groups and offsets.</summary>
    public const string State = "orleansgroups";

    /// <summary>
    /// A valid blob container name (3-63 chars of [a-z0-9-], no double or edge hyphens) for a service:
    /// "{prefix}-{serviceId}", with a short hash in place of the tail when it would be too long, so distinct
    /// service ids never share a container.
    /// </summary>
    public static string ContainerName(string prefix, string serviceId)
    {
        var raw = $"{prefix}-{serviceId}".ToLowerInvariant();
        var builder = new StringBuilder(raw.Length);
        foreach (var c in raw)
        {
            var next = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '-';
            if (next != '-' || (builder.Length > 0 && builder[^1] != '-'))
            {
                builder.Append(next);
            }
        }
        var name = builder.ToString().Trim('-');
        if (name.Length > 63 || name != raw)
        {
            // Lossy cleanup or truncation could map two ids to one name: add a hash of the original.
            var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(serviceId)))[..8].ToLowerInvariant();
            name = $"{name[..Math.Min(name.Length, 54)].TrimEnd('-')}-{hash}";
        }
        return name.Length < 3 ? name.PadRight(3, '0') : name;
    }
}
