using System.Reflection;
using System.Runtime;
using System.Runtime.InteropServices;

namespace OrleansGroups.Bench;

/// <summary>What every result file records about the machine it ran on.</summary>
internal static class Machine
{
    /// <summary>CPU, memory, OS, runtime and GC mode, and the Orleans version.</summary>
    public static Dictionary<string, string> Describe()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var gib = memory is not null && long.TryParse(memory.Split(' ')[0], out var kb) ? $"{kb / 1024.0 / 1024:N0} GiB" : "unknown";
        return new Dictionary<string, string>
        {
            ["cpu"] = $"{cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}, {Environment.ProcessorCount} logical cores",
            ["memory"] = gib,
            ["os"] = RuntimeInformation.OSDescription,
            ["runtime"] = $"{RuntimeInformation.FrameworkDescription}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC",
            ["orleans"] = typeof(Grain).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+', ' ')[0].TrimEnd('.') ?? "unknown",
        };
    }

    /// <summary>The 1, 5 and 15 minute load averages: neighbours' work skews a run on a small machine.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
