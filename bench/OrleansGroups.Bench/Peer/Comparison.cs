using System.Globalization;
using System.Text;
using OrleansGroups.Hosting;

namespace OrleansGroups.Bench.Peer;

/// <summary>
/// What the Redis Streams comparisons (<c>peer</c>, <c>consume</c>) run against, started together and stopped together:
/// a redis-server, and an in-process silo with a client for each OrleansGroups storage asked for.
/// </summary>
internal sealed class ComparisonHosts : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _started = [];
    private LocalAzurite? _azurite;

    private ComparisonHosts()
    {
    }

    public LocalRedis Redis { get; private set; } = null!;

    /// <summary>The silos by system name ("memory", "azurite"), in the order they started.</summary>
    public List<(string Name, BenchCluster Cluster)> Silos { get; } = [];

    /// <param name="storage">memory, azure or both.</param>
    public static async Task<ComparisonHosts> StartAsync(string storage, Action<string> say)
    {
        var hosts = new ComparisonHosts();
        try
        {
            say("starting redis-server (AOF, appendfsync everysec) on a free loopback port");
            hosts.Redis = hosts.Started(await LocalRedis.StartAsync());
            say($"redis-server {hosts.Redis.Version} on port {hosts.Redis.Port}");
            if (storage is "memory" or "both")
            {
                say("memory: starting an in-process silo and a client");
                hosts.Silos.Add(("memory", hosts.Started(await BenchCluster.StartAsync(StorageKind.Memory, null))));
            }
            if (storage is "azure" or "both")
            {
                var scripts = LocalAzurite.FindRepositoryScriptsDirectory()
                    ?? throw new InvalidOperationException("scripts/azurite not found: run from the repository.");
                say("azurite: starting the emulator (persisting to a temporary directory) and an in-process silo on it");
                hosts._azurite = hosts.Started(await LocalAzurite.StartAsync(scripts, inMemory: false));
                hosts.Silos.Add(("azurite", await hosts.StartSiloOnAzuriteAsync()));
            }
            return hosts;
        }
        catch
        {
            await hosts.DisposeAsync();
            throw;
        }
    }

    /// <summary>Another silo on the same Azurite (with <paramref name="configure"/>'s options), stopped with the others.</summary>
    public async Task<BenchCluster> StartSiloOnAzuriteAsync(Action<OrleansGroupsOptions>? configure = null)
    {
        var azurite = _azurite ?? throw new InvalidOperationException("Azurite was not started (--storage memory).");
        return Started(await BenchCluster.StartAsync(StorageKind.Azure, azurite.ConnectionString, configure));
    }

    /// <summary>Stops everything, the last started first (silos before the storage they use).</summary>
    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].DisposeAsync();
        }
        _started.Clear();
    }

    private T Started<T>(T host) where T : IAsyncDisposable
    {
        _started.Add(host);
        return host;
    }
}

/// <summary>
/// The table both comparisons lead with: per row its leading cells, Redis Streams, then for each OrleansGroups system
/// its figure and its ratio to Redis from the medians. Figures are "median (min–max)"; a system with none shows "–".
/// </summary>
internal static class ComparisonTable
{
    /// <summary>One line of the table.</summary>
    /// <param name="Cells">The leading cells, e.g. scenario and metric.</param>
    /// <param name="ValuesOf">The row's values for a system ("redis" or one of the OrleansGroups systems).</param>
    /// <param name="Ms">Milliseconds (two decimals) rather than a rate (whole numbers).</param>
    public sealed record Row(string[] Cells, Func<string, IEnumerable<double>> ValuesOf, bool Ms);

    /// <param name="leadingHeader">The header of the leading cells, e.g. "| scenario | metric |".</param>
    /// <param name="leadingAlignment">Their alignment row, e.g. "|---|---|".</param>
    /// <param name="systems">The OrleansGroups systems, one pair of columns each.</param>
    public static void Append(StringBuilder md, string leadingHeader, string leadingAlignment, IReadOnlyList<string> systems, IEnumerable<Row> rows)
    {
        var header = new StringBuilder(leadingHeader + " Redis Streams |");
        var alignment = new StringBuilder(leadingAlignment + "---:|");
        foreach (var system in systems)
        {
            header.Append(CultureInfo.InvariantCulture, $" OrleansGroups ({system}) | ratio ({system}) |");
            alignment.Append("---:|---:|");
        }
        Markdown.Table(md, header.ToString(), alignment.ToString(), rows.Select(row => Line(row, systems)));
    }

    private static string Line(Row row, IReadOnlyList<string> systems)
    {
        var redis = StatOf(row.ValuesOf("redis"));
        var line = new StringBuilder($"| {string.Join(" | ", row.Cells)} | {(redis is null ? "–" : Format(redis, row.Ms))} |");
        foreach (var system in systems)
        {
            if (StatOf(row.ValuesOf(system)) is not { } og)
            {
                line.Append(" – | – |");
                continue;
            }
            var ratio = redis is null || redis.Median == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{og.Median / redis.Median:N2}x");
            line.Append(CultureInfo.InvariantCulture, $" {Format(og, row.Ms)} | {ratio} |");
        }
        return line.ToString();
    }

    private static Stat? StatOf(IEnumerable<double> values)
    {
        var list = values.ToList();
        return list.Count > 0 ? Stat.Of(list) : null;
    }

    private static string Format(Stat stat, bool ms) => stat.Format(ms ? "N2" : "N0");
}

/// <summary>The runs of a scenario by system name ("redis", "memory", "azurite", …).</summary>
internal static class RunsBySystem
{
    /// <summary>The runs of <paramref name="system"/>, an empty list added on first use.</summary>
    public static List<TRun> For<TRun>(this Dictionary<string, List<TRun>> runs, string system)
    {
        if (!runs.TryGetValue(system, out var list))
        {
            runs[system] = list = [];
        }
        return list;
    }
}
