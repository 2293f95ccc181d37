using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Hosting;

namespace OrleansGroups.Bench.Groups;

/// <summary>
/// (b) The same rebalance through a real silo in this process (memory storage) and real consumers in a separate
/// Orleans client connected over loopback TCP: 100 consumers share the partitions, a 101st joins, and the clock runs
/// until the group grain reports the group stable with the newcomer in it. Every state change is persisted
/// (memory storage) and every heartbeat is a grain call, so this adds the grain, serialization and network costs to
/// the protocol's heartbeat latency. No records are produced: only the group protocol is measured.
/// </summary>
internal static class SiloBench
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    public sealed record Result(Stats NewcomerSettledMs, Stats StableMs);

    public static async Task<Result> RunAsync(int partitions, int members, int repetitions, int heartbeatMs, int reconcilingMs, TextWriter log)
    {
        var ports = FreePorts(2);
        var serviceId = $"bench-groups-{Guid.NewGuid():N}"[..20];
        var siloBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        siloBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
        siloBuilder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(ports[0], ports[1], serviceId: serviceId, clusterId: "bench");
            silo.AddOrleansGroups(o =>
            {
                o.Storage = StorageKind.Memory;
                o.Groups.Coordinator = new GroupCoordinatorOptions { HeartbeatIntervalMs = heartbeatMs, ReconcilingHeartbeatIntervalMs = reconcilingMs };
            });
        });
        using var silo = siloBuilder.Build();
        await silo.StartAsync();

        var clientBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        clientBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
        clientBuilder.UseOrleansClient(client => client.UseLocalhostClustering(ports[1], serviceId, "bench"));
        clientBuilder.Services.AddOrleansGroupsClient();
        using var clientHost = clientBuilder.Build();
        await clientHost.StartAsync();
        var client = clientHost.Services.GetRequiredService<OrleansGroupsClient>();
        var grains = clientHost.Services.GetRequiredService<IGrainFactory>();

        var topic = "bench";
        var groupId = "bench-group";
        await client.Admin.CreateTopicAsync(topic, partitions);
        var group = grains.GetGrain<IConsumerGroupGrain>(groupId);
        // Long fetch waits: nothing is produced, and idle long-polls would only add load to the machine being measured.
        ConsumerOptions Options(string name) => new(groupId) { ClientId = name, FetchMaxWait = TimeSpan.FromSeconds(5) };

        var consumers = new List<Consumer>();
        try
        {
            for (var i = 0; i < members; i++)
            {
                var consumer = client.CreateConsumer(Options($"member-{i}"));
                consumers.Add(consumer);
                consumer.Subscribe(topic);
            }
            var ready = Stopwatch.StartNew();
            await StableAsync(group, members, minEpoch: 0);
            log.WriteLine($"  {members} consumers stable over {partitions} partitions after {ready.Elapsed.TotalSeconds:F1} s");

            var settled = new List<double>();
            var stable = new List<double>();
            for (var rep = 0; rep <= repetitions; rep++)
            {
                var epoch = (await group.Describe()).GroupEpoch;
                var newcomer = client.CreateConsumer(Options("newcomer"));
                var everyone = consumers.Append(newcomer).ToList();
                var stopwatch = Stopwatch.StartNew();
                newcomer.Subscribe(topic);
                // Watched from the members' side, so that measuring adds no grain calls: the join bumps the epoch once,
                // and the group is stable when every member has reached that epoch and the partitions are all owned.
                // The newcomer only ever gains partitions, so it owns its target from its last gain on.
                var newcomerCount = 0;
                var newcomerSettled = 0.0;
                while (true)
                {
                    var owned = everyone.Select(c => c.Assignment).ToList();
                    var allOwned = owned.Sum(o => o.Count) == partitions && owned.SelectMany(o => o).Distinct().Count() == partitions;
                    if (owned[^1].Count > newcomerCount)
                    {
                        newcomerCount = owned[^1].Count;
                        newcomerSettled = stopwatch.Elapsed.TotalMilliseconds;
                    }
                    if (allOwned && everyone.All(c => c.MemberEpoch == epoch + 1))
                    {
                        break;
                    }
                    if (stopwatch.Elapsed > Deadline)
                    {
                        throw new TimeoutException("The group did not become stable after the join.");
                    }
                    await Task.Delay(1);
                }
                var elapsed = stopwatch.Elapsed.TotalMilliseconds;
                var description = await group.Describe();
                var target = description.Members.Single(m => m.MemberId == newcomer.MemberId).TargetPartitions.Count;
                if (description.State != GroupState.Stable || description.GroupEpoch != epoch + 1 || description.Members.Count != members + 1 ||
                    newcomerCount != target)
                {
                    throw new InvalidOperationException(
                        $"The members saw a stable group but the group grain reports {description.State} at epoch {description.GroupEpoch} " +
                        $"with {description.Members.Count} members, and the newcomer owns {newcomerCount} of its {target} partitions.");
                }
                if (rep > 0) // the first join warms the JIT and the grains
                {
                    settled.Add(newcomerSettled);
                    stable.Add(elapsed);
                }
                log.WriteLine($"  join {rep}: newcomer settled after {newcomerSettled:F0} ms, group stable after {elapsed:F0} ms{(rep == 0 ? " (warm-up)" : "")}");
                await newcomer.CloseAsync();
                await StableAsync(group, members, epoch);
            }
            return new Result(Stats.Of(settled), Stats.Of(stable));
        }
        finally
        {
            await Task.WhenAll(consumers.Select(c => c.CloseAsync()));
            await clientHost.StopAsync();
            await silo.StopAsync();
        }
    }

    private static async Task StableAsync(IConsumerGroupGrain group, int members, int minEpoch)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var description = await group.Describe();
            if (description.State == GroupState.Stable && description.Members.Count == members && description.GroupEpoch > minEpoch)
            {
                return;
            }
            if (deadline.Elapsed > Deadline)
            {
                throw new TimeoutException($"The group did not become stable with {members} members: {description.State}, {description.Members.Count} members.");
            }
            await Task.Delay(20);
        }
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
