using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Hosting;

namespace OrleansGroups.Bench.Groups;

/// <summary>
/// (d) Memory per idle partition and per idle group: an in-process silo (memory storage) activates N partitions of one
/// topic (an empty log each) and then M groups (one member each, subscribed to a 4-partition topic); the managed heap
/// after a full collection, before and after, divided by the count. Calls are made in the silo (no client) so only
/// silo-side memory is counted. Memory storage keeps each log's (empty) segment and each group's snapshot in the same
/// process, so the figures include what storage would otherwise hold elsewhere.
/// </summary>
internal static class MemoryBench
{
    public sealed record Result(double BytesPerPartition, double BytesPerGroup, int Partitions, int Groups);

    public static async Task<Result> RunAsync(int partitions, int groups, TextWriter log)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var siloPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        var gateway = new TcpListener(IPAddress.Loopback, 0);
        gateway.Start();
        var gatewayPort = ((IPEndPoint)gateway.LocalEndpoint).Port;
        listener.Stop();
        gateway.Stop();

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "bench-memory", clusterId: "bench");
            silo.AddOrleansGroups(o => o.Storage = StorageKind.Memory);
        });
        using var host = builder.Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var registry = grains.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry);
        await registry.CreateTopic("idle", partitions, null);
        await registry.CreateTopic("small", 4, null);

        var before = Heap();
        for (var start = 0; start < partitions; start += 500)
        {
            await Task.WhenAll(Enumerable.Range(start, Math.Min(500, partitions - start)).Select(p =>
                grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(new Core.Topics.TopicPartition("idle", p))).GetWatermarks()));
        }
        var afterPartitions = Heap();
        log.WriteLine($"  {partitions:N0} idle partitions: {(afterPartitions - before) / 1024.0 / 1024.0:F1} MiB");

        for (var start = 0; start < groups; start += 200)
        {
            await Task.WhenAll(Enumerable.Range(start, Math.Min(200, groups - start)).Select(g =>
                grains.GetGrain<IConsumerGroupGrain>($"group-{g}").Heartbeat(
                    new HeartbeatRequest($"member-{g}", 0, null, "bench", ["small"], []))));
        }
        var afterGroups = Heap();
        log.WriteLine($"  {groups:N0} idle groups: {(afterGroups - afterPartitions) / 1024.0 / 1024.0:F1} MiB");
        await host.StopAsync();
        return new Result((afterPartitions - before) / (double)partitions, (afterGroups - afterPartitions) / (double)groups, partitions, groups);
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
