using CsCheck;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Tests.Topics;

/// <summary>
/// The key grammar: every partition and consumer-session key has one spelling. A second spelling of a partition key
/// would be a second grain activation writing the same storage, so the parsers refuse everything but the canonical form.
/// </summary>
public class IdsTests
{
    private static readonly Gen<string> TopicGen = Gen.String[Gen.Char["abcXYZ019._-"], 1, 20].Where(TopicName.IsValid);

    [Theory]
    [InlineData("orders/0", "orders", 0)]
    [InlineData("orders/1", "orders", 1)]
    [InlineData("orders/10", "orders", 10)]
    [InlineData("a.b_c-d/2147483647", "a.b_c-d", int.MaxValue)]
    public void CanonicalPartitionKeyParses(string key, string topic, int partition)
    {
        Assert.Equal(new TopicPartition(topic, partition), Ids.ParsePartition(key));
        Assert.Equal(key, Ids.FormatPartition(Ids.ParsePartition(key)));
    }

    [Theory]
    [InlineData("orders/01")]        // leading zero
    [InlineData("orders/00")]
    [InlineData("orders/+1")]        // sign
    [InlineData("orders/-1")]        // negative
    [InlineData("orders/-0")]
    [InlineData("orders/ 1")]        // spaces
    [InlineData("orders/1 ")]
    [InlineData("orders/\t1")]
    [InlineData("orders/1_0")]
    [InlineData("orders/0x1")]
    [InlineData("orders/1e2")]
    [InlineData("orders/\u0661")]    // Arabic-Indic digit one
    [InlineData("orders/\uFF11")]    // full-width digit one
    [InlineData("orders/2147483648")] // int.MaxValue + 1
    [InlineData("orders/99999999999")]
    [InlineData("orders/")]
    [InlineData("/1")]
    [InlineData("orders")]
    [InlineData("")]
    [InlineData("or ders/1")]        // topic part not a legal topic name
    [InlineData("a/b/1")]
    [InlineData("../1")]
    [InlineData("./1")]
    public void NonCanonicalPartitionKeyIsInvalidRequest(string key)
    {
        var e = Assert.Throws<InvalidRequestException>(() => Ids.ParsePartition(key));
        Assert.Equal(OrleansGroupsErrorCode.InvalidRequest, e.Code);
    }

    [Fact]
    public void NullPartitionKeyIsInvalidRequest() => Assert.Throws<InvalidRequestException>(() => Ids.ParsePartition(null));

    [Fact]
    public void LongTopicPartKeyIsInvalidRequest() =>
        Assert.Throws<InvalidRequestException>(() => Ids.ParsePartition(new string('a', TopicName.MaxLength + 1) + "/0"));

    [Theory]
    [InlineData("or ders", 0)]
    [InlineData("orders", -1)]
    [InlineData("", 0)]
    [InlineData("a/b", 0)]
    public void FormattingAnIllegalPartitionIsInvalidRequest(string topic, int partition) =>
        Assert.Throws<InvalidRequestException>(() => Ids.FormatPartition(new TopicPartition(topic, partition)));

    [Fact]
    public void PartitionKeysRoundTrip() => Gen.Select(TopicGen, Gen.Int[0, int.MaxValue]).Sample((topic, partition) =>
    {
        var key = Ids.FormatPartition(new TopicPartition(topic, partition));
        Assert.Equal(new TopicPartition(topic, partition), Ids.ParsePartition(key));
        Assert.Equal(key, Ids.FormatPartition(Ids.ParsePartition(key)));
    });

    /// <summary>Whatever string parses as a partition key is the one spelling of its partition.</summary>
    [Fact]
    public void AnyParsablePartitionKeyIsCanonical() =>
        Gen.Select(TopicGen, Gen.String[Gen.Char["0123456789+- \u0661"], 0, 12]).Sample((topic, number) =>
        {
            var key = $"{topic}/{number}";
            TopicPartition parsed;
            try
            {
                parsed = Ids.ParsePartition(key);
            }
            catch (InvalidRequestException)
            {
                return;
            }
            Assert.Equal(key, Ids.FormatPartition(parsed));
        });

    [Theory]
    [InlineData("m1@g", "g", "m1")]
    [InlineData("m1@g@h", "g@h", "m1")] // group ids may contain '@'; member ids may not
    [InlineData("0f8fad5bd9cb469fa16570867728950e@orders-app", "orders-app", "0f8fad5bd9cb469fa16570867728950e")]
    public void ConsumerKeyParses(string key, string group, string member)
    {
        Assert.Equal((group, member), Ids.ParseConsumer(key));
        Assert.Equal(key, Ids.FormatConsumer(group, member));
    }

    [Theory]
    [InlineData("")]
    [InlineData("@g")]
    [InlineData("m1@")]
    [InlineData("m1@ ")]
    [InlineData("m1")]
    [InlineData(" @g")]
    [InlineData("m\n1@g")]
    [InlineData("m1@g\u0000")]
    public void BadConsumerKeyIsInvalidRequest(string key) => Assert.Throws<InvalidRequestException>(() => Ids.ParseConsumer(key));

    [Fact]
    public void ConsumerKeysRoundTrip() =>
        Gen.Select(Gen.String[Gen.Char["abc019-_ @"], 1, 30], Gen.String[Gen.Char["abc019-_"], 1, 30]).Sample((group, member) =>
        {
            if (string.IsNullOrWhiteSpace(group))
            {
                return;
            }
            var key = Ids.FormatConsumer(group, member);
            Assert.Equal((group, member), Ids.ParseConsumer(key));
        });

    [Fact]
    public void MemberIdWithAtIsInvalidRequest() => Assert.Throws<InvalidRequestException>(() => Ids.FormatConsumer("g", "a@b"));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("tab\there")]
    public void BadGroupIdIsInvalidGroupId(string? groupId)
    {
        var e = Assert.Throws<InvalidGroupIdException>(() => Ids.ValidateGroupId(groupId));
        Assert.Equal(OrleansGroupsErrorCode.InvalidGroupId, e.Code);
    }

    [Fact]
    public void GroupIdsUpTo249CharactersAreLegal()
    {
        Assert.Equal(new string('g', 249), Ids.ValidateGroupId(new string('g', 249)));
        var e = Assert.Throws<InvalidGroupIdException>(() => Ids.ValidateGroupId(new string('g', 250)));
        Assert.Contains("249", e.Message);
    }

    [Fact]
    public void OptionalIdsAreNullOrLegal()
    {
        Ids.ValidateOptional(null, "group.instance.id");
        Ids.ValidateOptional("instance-1", "group.instance.id");
        Assert.Throws<InvalidRequestException>(() => Ids.ValidateOptional(" ", "group.instance.id"));
        Assert.Throws<InvalidRequestException>(() => Ids.ValidateOptional(new string('i', 250), "group.instance.id"));
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("7", 7)]
    [InlineData("2147483647", int.MaxValue)]
    public void CanonicalIntParses(string text, int expected)
    {
        Assert.True(Ids.TryParseCanonicalInt(text, out var value));
        Assert.Equal(expected, value);
    }
}
