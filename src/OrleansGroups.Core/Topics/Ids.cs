using OrleansGroups.Core.Errors;

namespace OrleansGroups.Core.Topics;

/// <summary>
/// The grammar of the ids and grain keys OrleansGroups accepts. Every key has exactly one spelling: parsing a key and
/// formatting the result gives the key back, so two spellings can never name two activations over the same storage
/// (<c>orders/01</c>, <c>orders/+1</c> and <c>orders/ 1</c> are refused, not read as partition 1).
/// </summary>
public static class Ids
{
    /// <summary>
    /// Longest group id, member id, static instance id or client id: 249 characters, Kafka's topic-name limit (Kafka
    /// itself only bounds these by its protocol's 32,767-byte strings). They are grain keys and storage keys here.
    /// </summary>
    public const int MaxLength = 249;

    /// <summary>Throws <see cref="InvalidGroupIdException"/> unless <paramref name="groupId"/> is a legal group id.</summary>
    /// <exception cref="InvalidGroupIdException">Empty, blank, longer than <see cref="MaxLength"/>, or with a control character.</exception>
    public static string ValidateGroupId(string? groupId) =>
        Problem(groupId, "group id") is { } reason ? throw new InvalidGroupIdException(groupId, reason) : groupId!;

    /// <summary>
    /// Throws <see cref="InvalidRequestException"/> unless <paramref name="memberId"/> is a legal member id: as a group
    /// id, and without '@' (it prefixes the group id in a consumer session key).
    /// </summary>
    /// <exception cref="InvalidRequestException">The member id is not legal.</exception>
    public static string ValidateMemberId(string? memberId)
    {
        var reason = Problem(memberId, "member id") ?? (memberId!.Contains('@') ? "a member id cannot contain '@'" : null);
        return reason is null ? memberId! : throw new InvalidRequestException($"Invalid member id '{Shorten(memberId)}': {reason}.");
    }

    /// <summary>Throws <see cref="InvalidRequestException"/> unless <paramref name="id"/> (named <paramref name="what"/>) is null or legal.</summary>
    /// <exception cref="InvalidRequestException">The id is blank, too long or has a control character.</exception>
    public static void ValidateOptional(string? id, string what)
    {
        if (id is not null && Problem(id, what) is { } reason)
        {
            throw new InvalidRequestException($"Invalid {what} '{Shorten(id)}': {reason}.");
        }
    }

    /// <summary>
    /// Throws <see cref="InvalidRequestException"/> unless <paramref name="clientId"/> is null, empty (Kafka allows an
    /// empty <c>client.id</c>) or at most <see cref="MaxLength"/> characters without control characters.
    /// </summary>
    /// <exception cref="InvalidRequestException">The client id is too long or has a control character.</exception>
    public static void ValidateClientId(string? clientId)
    {
        if (clientId is null)
        {
            return;
        }
        if (clientId.Length > MaxLength || clientId.Any(char.IsControl))
        {
            throw new InvalidRequestException(
                $"Invalid client.id '{Shorten(clientId)}': at most {MaxLength} characters ({clientId.Length} given), no control characters.");
        }
    }

    /// <summary>Key of a partition: "topic/partition".</summary>
    /// <exception cref="InvalidRequestException">The topic name is illegal or the partition is negative.</exception>
    public static string FormatPartition(TopicPartition partition)
    {
        if (!TopicName.IsValid(partition.Topic) || partition.Partition < 0)
        {
            throw new InvalidRequestException($"{Shorten(partition.Topic)}/{partition.Partition} cannot be a partition key: it needs a legal topic name and a partition >= 0.");
        }
        return $"{partition.Topic}/{partition.Partition}";
    }

    /// <summary>
    /// Parses "topic/partition": a legal topic name, '/', and the partition number in invariant digits with no sign,
    /// space or leading zero, at most <see cref="int.MaxValue"/>. The one spelling <see cref="FormatPartition"/> writes.
    /// </summary>
    /// <exception cref="InvalidRequestException">Any other string.</exception>
    public static TopicPartition ParsePartition(string? key)
    {
        var slash = key?.LastIndexOf('/') ?? -1;
        if (slash <= 0 || !TopicName.IsValid(key![..slash]) || !TryParseCanonicalInt(key.AsSpan(slash + 1), out var partition))
        {
            throw new InvalidRequestException($"'{Shorten(key)}' is not a partition key (topic/partition, the partition in plain digits).");
        }
        return new TopicPartition(key[..slash], partition);
    }

    /// <summary>Key of a member's consumer session: "member@group".</summary>
    /// <exception cref="InvalidGroupIdException">The group id is illegal.</exception>
    /// <exception cref="InvalidRequestException">The member id is illegal.</exception>
    public static string FormatConsumer(string groupId, string memberId) => $"{ValidateMemberId(memberId)}@{ValidateGroupId(groupId)}";

    /// <summary>Parses "member@group" (split at the first '@': member ids have none).</summary>
    /// <exception cref="InvalidRequestException">Not a legal member id, '@' and a legal group id.</exception>
    public static (string GroupId, string MemberId) ParseConsumer(string? key)
    {
        var at = key?.IndexOf('@') ?? -1;
        if (at <= 0 || Problem(key![..at], "member id") is not null || Problem(key[(at + 1)..], "group id") is not null)
        {
            throw new InvalidRequestException($"'{Shorten(key)}' is not a consumer session key (member@group).");
        }
        return (key[(at + 1)..], key[..at]);
    }

    /// <summary>True for plain ASCII digits without a sign or leading zero (other than "0" itself) that fit an int.</summary>
    public static bool TryParseCanonicalInt(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 10 || (text[0] == '0' && text.Length > 1))
        {
            return false;
        }
        long result = 0;
        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
            result = (result * 10) + (c - '0');
        }
        if (result > int.MaxValue)
        {
            return false;
        }
        value = (int)result;
        return true;
    }

    private static string? Problem(string? id, string what)
    {
        if (string.IsNullOrWhiteSpace(id))
            return $"a {what} is required (1 to {MaxLength} characters, not all blank)";
        if (id.Length > MaxLength)
            return $"a {what} has at most {MaxLength} characters, this one has {id.Length}";
        foreach (var c in id)
        {
            if (char.IsControl(c))
                return $"a {what} cannot contain control characters (U+{(int)c:X4})";
        }
        return null;
    }

    /// <summary>Caps what an error message repeats of a rejected id.</summary>
    private static string? Shorten(string? id) => id is { Length: > 64 } ? id[..61] + "..." : id;
}
