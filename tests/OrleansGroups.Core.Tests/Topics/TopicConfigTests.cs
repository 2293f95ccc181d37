using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Tests.Topics;

public class TopicConfigTests
{
    [Fact]
    public void DefaultIsOneMebibyteKeptForever()
    {
        Assert.Equal(new TopicConfig { MaxMessageBytes = 1_048_576, RetentionMs = -1, RetentionBytes = -1 }, TopicConfig.Default);
        TopicConfig.Default.Validate();
    }

    [Fact]
    public void ZeroRetentionIsValid() => new TopicConfig { RetentionMs = 0, RetentionBytes = 0 }.Validate();

    [Theory]
    [InlineData(0, -1, -1, "max.message.bytes")]
    [InlineData(-5, -1, -1, "max.message.bytes")]
    [InlineData(1024, -2, -1, "retention.ms")]
    [InlineData(1024, -1, -2, "retention.bytes")]
    public void OutOfRangeSettingIsNamed(int maxMessageBytes, long retentionMs, long retentionBytes, string setting)
    {
        var config = new TopicConfig { MaxMessageBytes = maxMessageBytes, RetentionMs = retentionMs, RetentionBytes = retentionBytes };
        var error = Assert.Throws<InvalidRequestException>(config.Validate);
        Assert.Contains(setting, error.Message);
    }
}
