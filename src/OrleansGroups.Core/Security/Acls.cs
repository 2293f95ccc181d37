namespace OrleansGroups.Core.Security;

/// <summary>What a principal does to a resource (Kafka's ACL operations).</summary>
public enum AclOperation
{
    /// <summary>Every operation (in a binding only; never asked for).</summary>
    All,
    /// <summary>Consume from a topic; join, commit in and read offsets of a group.</summary>
    Read,
    /// <summary>Produce to a topic.</summary>
    Write,
    /// <summary>Create a topic (on the topic or the cluster).</summary>
    Create,
    /// <summary>Delete a topic or a group.</summary>
    Delete,
    /// <summary>Change partitions of a topic; change ACLs (on the cluster).</summary>
    Alter,
    /// <summary>See a topic, a group or the cluster.</summary>
    Describe,
    /// <summary>Read a resource's configuration.</summary>
    DescribeConfigs,
    /// <summary>Change a resource's configuration.</summary>
    AlterConfigs,
}

/// <summary>Whether a binding grants or refuses.</summary>
public enum AclPermission
{
    /// <summary>Grants the operation.</summary>
    Allow,
    /// <summary>Refuses the operation, whatever else allows it.</summary>
    Deny,
}

/// <summary>The kinds of resource an ACL protects.</summary>
public enum AclResourceType
{
    /// <summary>A topic.</summary>
    Topic,
    /// <summary>A consumer group.</summary>
    Group,
    /// <summary>The cluster (topic creation, ACL changes); its one name is <see cref="AclResource.ClusterName"/>.</summary>
    Cluster,
}

/// <summary>How a binding's resource name matches.</summary>
public enum AclPatternType
{
    /// <summary>The exact name, or every name when the name is <c>*</c>.</summary>
    Literal,
    /// <summary>Every name that starts with it.</summary>
    Prefixed,
}

/// <summary>A resource a call touches.</summary>
/// <param name="Type">Its kind.</param>
/// <param name="Name">Its name (<see cref="ClusterName"/> for the cluster).</param>
public sealed record AclResource(AclResourceType Type, string Name)
{
    /// <summary>The cluster's resource name, as Kafka's.</summary>
    public const string ClusterName = "kafka-cluster";

    /// <summary>The cluster.</summary>
    public static AclResource Cluster { get; } = new(AclResourceType.Cluster, ClusterName);

    /// <summary>A topic.</summary>
    public static AclResource Topic(string name) => new(AclResourceType.Topic, name);

    /// <summary>A group.</summary>
    public static AclResource Group(string name) => new(AclResourceType.Group, name);
}

/// <summary>Which resources a binding covers.</summary>
/// <param name="Type">The kind of resource.</param>
/// <param name="Name">A name, a prefix, or <c>*</c> (literal: every resource of the kind).</param>
/// <param name="PatternType">Literal or prefixed.</param>
public sealed record AclResourcePattern(AclResourceType Type, string Name, AclPatternType PatternType = AclPatternType.Literal)
{
    /// <summary>The literal name that matches every resource of a kind.</summary>
    public const string Wildcard = "*";

    /// <summary>Whether the pattern covers <paramref name="resource"/>.</summary>
    public bool Matches(AclResource resource) => resource.Type == Type && PatternType switch
    {
        AclPatternType.Literal => Name == Wildcard || string.Equals(Name, resource.Name, StringComparison.Ordinal),
        AclPatternType.Prefixed => resource.Name.StartsWith(Name, StringComparison.Ordinal),
        _ => false,
    };
}

/// <summary>One ACL: <paramref name="Principal"/> is allowed or denied <paramref name="Operation"/> on <paramref name="Pattern"/>.</summary>
/// <param name="Principal"><c>User:name</c>, or <c>User:*</c> for every principal.</param>
/// <param name="Permission">Allow or deny.</param>
/// <param name="Operation">The operation, or <see cref="AclOperation.All"/>.</param>
/// <param name="Pattern">The resources.</param>
/// <param name="Host">The client host, or <c>*</c> (the only value OrleansGroups accepts for now, as Kafka's default).</param>
public sealed record AclBinding(string Principal, AclPermission Permission, AclOperation Operation, AclResourcePattern Pattern, string Host = "*")
{
    /// <summary>The principal that stands for every principal.</summary>
    public const string AnyPrincipal = "User:*";

    /// <summary>Whether the binding is about <paramref name="principal"/> calling from <paramref name="host"/>.</summary>
    public bool AppliesTo(string principal, string host) =>
        (Principal == AnyPrincipal || string.Equals(Principal, principal, StringComparison.Ordinal))
        && (Host == "*" || string.Equals(Host, host, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The outcome of an authorization, with what decided it (for the audit log and the caller's error).</summary>
/// <param name="Allowed">Whether the call may proceed.</param>
/// <param name="Reason">Why, in words.</param>
/// <param name="DecidingBinding">The binding that decided, if one did.</param>
public sealed record AclDecision(bool Allowed, string Reason, AclBinding? DecidingBinding = null);

/// <summary>
/// Kafka's ACL rules as a pure function of the bindings: super users may do anything; a matching deny wins over any
/// allow; an allow of <see cref="AclOperation.Read"/>, <see cref="AclOperation.Write"/>, <see cref="AclOperation.Delete"/>
/// or <see cref="AclOperation.Alter"/> also allows <see cref="AclOperation.Describe"/>, and
/// <see cref="AclOperation.AlterConfigs"/> allows <see cref="AclOperation.DescribeConfigs"/>; no matching allow means
/// denied (Kafka's <c>allow.everyone.if.no.acl.found=false</c>). No clock, no I/O.
/// </summary>
public sealed class AclAuthorizer
{
    private readonly IReadOnlyList<AclBinding> _bindings;
    private readonly IReadOnlySet<string> _superUsers;

    /// <summary>Creates the authorizer over a snapshot of the bindings.</summary>
    public AclAuthorizer(IEnumerable<AclBinding> bindings, IEnumerable<string> superUsers)
    {
        _bindings = [.. bindings];
        _superUsers = superUsers.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Whether <paramref name="principal"/> may do <paramref name="operation"/> to <paramref name="resource"/>.</summary>
    public AclDecision Authorize(string principal, string host, AclOperation operation, AclResource resource)
    {
        if (operation == AclOperation.All)
        {
            throw new ArgumentException("A call asks for one operation, not All.", nameof(operation));
        }
        if (_superUsers.Contains(principal))
        {
            return new AclDecision(true, $"{principal} is a super user");
        }
        var relevant = _bindings.Where(b => b.AppliesTo(principal, host) && b.Pattern.Matches(resource)).ToList();
        // 1. A deny of this operation (or of all) wins, whatever allows it.
        if (relevant.FirstOrDefault(b => b.Permission == AclPermission.Deny && (b.Operation == operation || b.Operation == AclOperation.All)) is { } deny)
        {
            return new AclDecision(false, $"denied by {Describe(deny)}", deny);
        }
        // 2. An allow of this operation, of all, or of an operation that implies it.
        if (relevant.FirstOrDefault(b => b.Permission == AclPermission.Allow && Grants(b.Operation, operation)) is { } allow)
        {
            return new AclDecision(true, $"allowed by {Describe(allow)}", allow);
        }
        // 3. Nothing matched: denied.
        return new AclDecision(false, $"no ACL allows {principal} {operation} on {resource.Type} '{resource.Name}'");
    }

    /// <summary>Whether an allow of <paramref name="granted"/> covers <paramref name="asked"/>.</summary>
    public static bool Grants(AclOperation granted, AclOperation asked) =>
        granted == asked || granted == AclOperation.All || asked switch
        {
            AclOperation.Describe => granted is AclOperation.Read or AclOperation.Write or AclOperation.Delete or AclOperation.Alter,
            AclOperation.DescribeConfigs => granted is AclOperation.AlterConfigs,
            _ => false,
        };

    private static string Describe(AclBinding b) =>
        $"{b.Permission} {b.Principal} {b.Operation} on {b.Pattern.Type} {b.Pattern.PatternType.ToString().ToLowerInvariant()} '{b.Pattern.Name}'";
}
