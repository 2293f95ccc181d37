using Microsoft.Extensions.Logging;

namespace OrleansGroups.Diagnostics;

/// <summary>
/// When the silo becomes active, activates every registered consumer group in the background, so a group that no
/// member talks to (everyone gone, lag growing) is reported by <c>orleansgroups.consumer_group.lag</c> after a
/// restart too. An active group keeps itself active while it has something to report (<c>Groups.MetricsInterval</c>).
/// </summary>
/// <remarks>Every silo sweeps; activating an already active group is one cheap call. Failures only delay reporting.</remarks>
internal sealed class GroupMetricsStartup(IGrainFactory grains, ILogger<GroupMetricsStartup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Groups touched at once: bounded so a cluster with thousands of groups does not flood its own start.</summary>
    private const int Parallelism = 16;

    private readonly CancellationTokenSource _stopping = new();

    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe<GroupMetricsStartup>(ServiceLifecycleStage.Active,
        _ =>
        {
            Task.Run(SweepAsync).Ignore();
            return Task.CompletedTask;
        },
        _ =>
        {
            _stopping.Cancel();
            return Task.CompletedTask;
        });

    private async Task SweepAsync()
    {
        try
        {
            var groups = await grains.GetGrain<IGroupRegistryGrain>(GrainKeys.GroupRegistry).ListGroups();
            await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = _stopping.Token },
                async (group, _) => await grains.GetGrain<IConsumerGroupGrain>(group).Describe());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.GroupMetricsSweepFailed(logger, e);
        }
        catch (OperationCanceledException)
        {
            // The silo is stopping.
        }
    }
}
