using OrleansGroups.Hosting;

namespace OrleansGroups.Grains.Tests;

/// <summary>The bounds' options are checked by the options validator, each failure naming the setting to fix.</summary>
public sealed class BoundsOptionsValidatorTests
{
    private static OrleansGroupsOptions Valid() => new() { Storage = StorageKind.Memory };

    private static IEnumerable<string> Failures(OrleansGroupsOptions options) =>
        new OrleansGroupsOptionsValidator().Validate(null, options).Failures ?? [];

    [Fact]
    public void Defaults_AreValid()
    {
        Assert.Empty(Failures(Valid()));
        Assert.Equal((50 << 20, TimeSpan.FromDays(1), 10_000, 10_000, 1_000, 1_800_000),
            (Valid().Log.FetchMaxBytes, Valid().Log.ProducerIdExpiration, Valid().MaxTopics, Valid().Groups.MaxGroups,
             Valid().Groups.Coordinator.MaxGroupSize, Valid().Groups.Coordinator.MaxRebalanceTimeoutMs));
    }

    public static TheoryData<string, Action<OrleansGroupsOptions>> Invalid() => new()
    {
        { "Log.FetchMaxBytes", o => o.Log.FetchMaxBytes = 0 },
        { "Log.MaxFetchWait", o => o.Log.MaxFetchWait = TimeSpan.Zero },
        { "Log.ProducerIdExpiration", o => o.Log.ProducerIdExpiration = TimeSpan.Zero },
        { "Log.MaxProducersPerPartition", o => o.Log.MaxProducersPerPartition = 0 },
        { "MaxGroupSize", o => o.Groups.Coordinator = o.Groups.Coordinator with { MaxGroupSize = 0 } },
        { "MaxRebalanceTimeoutMs", o => o.Groups.Coordinator = o.Groups.Coordinator with { MaxRebalanceTimeoutMs = 1_000 } },
        { "MaxTopics", o => o.MaxTopics = 0 },
        { "Groups.MaxGroups", o => o.Groups.MaxGroups = -1 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void OutOfRangeBound_IsReportedByName(string setting, Action<OrleansGroupsOptions> breakIt)
    {
        var options = Valid();
        breakIt(options);

        var failure = Assert.Single(Failures(options));
        Assert.Contains(setting, failure);
    }
}
