using OrleansGroups.Core.Security;

namespace OrleansGroups.Core.Tests.Security;

/// <summary>
/// Kafka's ACL semantics, one rule per case. The default fixture: Alice may read and write topics prefixed
/// <c>orders.</c>, read group <c>billing</c>; Bob is denied everything on topic <c>orders.secret</c>; Admin is a super user.
/// </summary>
public sealed class AclAuthorizerTests
{
    private const string Alice = "User:alice";
    private const string Bob = "User:bob";
    private const string Admin = "User:admin";
    private const string Host = "10.0.0.7";

    private static AclBinding Allow(string principal, AclOperation operation, AclResourceType type, string name, AclPatternType pattern = AclPatternType.Literal) =>
        new(principal, AclPermission.Allow, operation, new AclResourcePattern(type, name, pattern));

    private static AclBinding Deny(string principal, AclOperation operation, AclResourceType type, string name, AclPatternType pattern = AclPatternType.Literal) =>
        new(principal, AclPermission.Deny, operation, new AclResourcePattern(type, name, pattern));

    private static readonly AclBinding AliceReadsOrders = Allow(Alice, AclOperation.Read, AclResourceType.Topic, "orders.", AclPatternType.Prefixed);
    private static readonly AclBinding AliceWritesOrders = Allow(Alice, AclOperation.Write, AclResourceType.Topic, "orders.", AclPatternType.Prefixed);
    private static readonly AclBinding AliceReadsBilling = Allow(Alice, AclOperation.Read, AclResourceType.Group, "billing");
    private static readonly AclBinding EveryoneReadsOrders = Allow(AclBinding.AnyPrincipal, AclOperation.Read, AclResourceType.Topic, "orders.", AclPatternType.Prefixed);
    private static readonly AclBinding BobDeniedSecret = Deny(Bob, AclOperation.All, AclResourceType.Topic, "orders.secret");

    private static AclAuthorizer Default() =>
        new([AliceReadsOrders, AliceWritesOrders, AliceReadsBilling, EveryoneReadsOrders, BobDeniedSecret], [Admin]);

    [Fact]
    public void PrefixedAllow_CoversEveryTopicWithThePrefix_AndNoOther()
    {
        var acls = Default();

        Assert.Equal(new AclDecision(true, "allowed by Allow User:alice Write on Topic prefixed 'orders.'", AliceWritesOrders),
            acls.Authorize(Alice, Host, AclOperation.Write, AclResource.Topic("orders.eu")));
        Assert.False(acls.Authorize(Alice, Host, AclOperation.Write, AclResource.Topic("payments")).Allowed);
        Assert.False(acls.Authorize(Alice, Host, AclOperation.Write, AclResource.Topic("orders")).Allowed);
    }

    [Fact]
    public void LiteralAllow_CoversThatNameOnly()
    {
        var acls = Default();

        Assert.True(acls.Authorize(Alice, Host, AclOperation.Read, AclResource.Group("billing")).Allowed);
        Assert.False(acls.Authorize(Alice, Host, AclOperation.Read, AclResource.Group("billing-2")).Allowed);
    }

    [Fact]
    public void DenyWins_OverAnAllowForEveryone()
    {
        var decision = Default().Authorize(Bob, Host, AclOperation.Read, AclResource.Topic("orders.secret"));

        Assert.Equal(new AclDecision(false, "denied by Deny User:bob All on Topic literal 'orders.secret'", BobDeniedSecret), decision);
    }

    [Fact]
    public void AllowForEveryone_AppliesToAPrincipalWithNoAclOfItsOwn()
    {
        var decision = Default().Authorize("User:carol", Host, AclOperation.Read, AclResource.Topic("orders.eu"));

        Assert.Equal(new AclDecision(true, "allowed by Allow User:* Read on Topic prefixed 'orders.'", EveryoneReadsOrders), decision);
    }

    [Fact]
    public void NoMatchingAcl_IsDenied_WithTheReason()
    {
        var decision = Default().Authorize("User:carol", Host, AclOperation.Write, AclResource.Topic("orders.eu"));

        Assert.Equal(new AclDecision(false, "no ACL allows User:carol Write on Topic 'orders.eu'"), decision);
    }

    [Fact]
    public void SuperUser_MayDoAnything_EvenWhereADenyMatches()
    {
        var acls = new AclAuthorizer([Deny(AclBinding.AnyPrincipal, AclOperation.All, AclResourceType.Cluster, AclResource.ClusterName)], [Admin]);

        Assert.Equal(new AclDecision(true, "User:admin is a super user"), acls.Authorize(Admin, Host, AclOperation.Alter, AclResource.Cluster));
        Assert.False(acls.Authorize(Alice, Host, AclOperation.Alter, AclResource.Cluster).Allowed);
    }

    [Theory]
    [InlineData(AclOperation.Read, AclOperation.Describe, true)]
    [InlineData(AclOperation.Write, AclOperation.Describe, true)]
    [InlineData(AclOperation.Delete, AclOperation.Describe, true)]
    [InlineData(AclOperation.Alter, AclOperation.Describe, true)]
    [InlineData(AclOperation.AlterConfigs, AclOperation.DescribeConfigs, true)]
    [InlineData(AclOperation.All, AclOperation.Create, true)]
    [InlineData(AclOperation.Describe, AclOperation.Read, false)]
    [InlineData(AclOperation.Create, AclOperation.Describe, false)]
    [InlineData(AclOperation.Read, AclOperation.Write, false)]
    [InlineData(AclOperation.DescribeConfigs, AclOperation.AlterConfigs, false)]
    public void AnAllow_ImpliesOnlyWhatKafkaImplies(AclOperation granted, AclOperation asked, bool allowed)
    {
        var acls = new AclAuthorizer([Allow(Alice, granted, AclResourceType.Topic, "t")], []);

        Assert.Equal(allowed, acls.Authorize(Alice, Host, asked, AclResource.Topic("t")).Allowed);
    }

    [Fact]
    public void ADenyOfOneOperation_DoesNotDenyTheOperationsItsAllowWouldImply()
    {
        // Kafka: a deny matches its own operation or All only; denying Read leaves Describe to the allows.
        var acls = new AclAuthorizer([Allow(Alice, AclOperation.Write, AclResourceType.Topic, "t"), Deny(Alice, AclOperation.Read, AclResourceType.Topic, "t")], []);

        Assert.False(acls.Authorize(Alice, Host, AclOperation.Read, AclResource.Topic("t")).Allowed);
        Assert.True(acls.Authorize(Alice, Host, AclOperation.Describe, AclResource.Topic("t")).Allowed);
    }

    [Fact]
    public void LiteralWildcard_CoversEveryResourceOfItsTypeOnly()
    {
        var acls = new AclAuthorizer([Allow(Alice, AclOperation.Describe, AclResourceType.Group, AclResourcePattern.Wildcard)], []);

        Assert.True(acls.Authorize(Alice, Host, AclOperation.Describe, AclResource.Group("any")).Allowed);
        Assert.False(acls.Authorize(Alice, Host, AclOperation.Describe, AclResource.Topic("any")).Allowed);
    }

    [Fact]
    public void ABindingForAnotherHost_DoesNotApply()
    {
        var onlyFromElsewhere = Allow(Alice, AclOperation.Read, AclResourceType.Topic, "t") with { Host = "10.9.9.9" };
        var acls = new AclAuthorizer([onlyFromElsewhere], []);

        Assert.False(acls.Authorize(Alice, Host, AclOperation.Read, AclResource.Topic("t")).Allowed);
        Assert.True(acls.Authorize(Alice, "10.9.9.9", AclOperation.Read, AclResource.Topic("t")).Allowed);
    }

    [Fact]
    public void AskingForAll_IsAProgrammingError()
    {
        Assert.Throws<ArgumentException>(() => Default().Authorize(Alice, Host, AclOperation.All, AclResource.Cluster));
    }
}
