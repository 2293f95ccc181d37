using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Tests.Topics;

public class TopicNameTests
{
    [Theory]
    [InlineData("orders")]
    [InlineData("a")]
    [InlineData("Orders.v2_eu-west")]
    [InlineData("...")]
    [InlineData("_-.")]
    [InlineData("0123456789")]
    public void ValidNamesPass(string name)
    {
        Assert.True(TopicName.IsValid(name));
        TopicName.Validate(name);
    }

    [Fact]
    public void NameOfMaxLengthIsValid() => Assert.True(TopicName.IsValid(new string('x', TopicName.MaxLength)));

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData(".", "reserved")]
    [InlineData("..", "reserved")]
    [InlineData("a b", "illegal character ' '")]
    [InlineData("orders/1", "illegal character '/'")]
    [InlineData("café", "illegal character 'é'")]
    [InlineData("tab\t", "illegal character '\t'")]
    public void InvalidNamesSayWhy(string? name, string reason)
    {
        Assert.False(TopicName.IsValid(name));
        var error = Assert.Throws<InvalidTopicNameException>(() => TopicName.Validate(name));
        Assert.Contains(reason, error.Message);
        Assert.Equal(name, error.Topic);
        Assert.Equal(OrleansGroupsErrorCode.InvalidTopicName, error.Code);
    }

    [Fact]
    public void TooLongNameSaysItsLength()
    {
        var name = new string('x', TopicName.MaxLength + 1);
        Assert.False(TopicName.IsValid(name));
        var error = Assert.Throws<InvalidTopicNameException>(() => TopicName.Validate(name));
        Assert.Contains("250 characters", error.Message);
        Assert.Contains("249", error.Message);
    }
}
