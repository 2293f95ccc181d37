using OrleansGroups.Core.Errors;

namespace OrleansGroups.Core.Topics;

/// <summary>
/// Kafka's topic-name rules: 1 to <see cref="MaxLength"/> characters of <c>[a-zA-Z0-9._-]</c>, and
/// neither "." nor "..". Keeping Kafka's rules means any name valid here is valid in Kafka tooling,
/// and the name can be used unescaped in grain keys and storage paths.
/// </summary>
public static class TopicName
{
    /// <summary>The longest legal name (Kafka's limit, chosen so "name-partition" fits a 255-byte file name).</summary>
    public const int MaxLength = 249;

    /// <summary>True when <paramref name="name"/> is a legal topic name.</summary>
    public static bool IsValid(string? name) => Problem(name) is null;

    /// <summary>Throws <see cref="InvalidTopicNameException"/> saying why <paramref name="name"/> is illegal.</summary>
    /// <exception cref="InvalidTopicNameException">The name is empty, too long, "." or "..", or has an illegal character.</exception>
    public static void Validate(string? name)
    {
        if (Problem(name) is { } reason)
            throw new InvalidTopicNameException(name, reason);
    }

    private static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name))
            return "the name is empty";
        if (name.Length > MaxLength)
            return $"the name is {name.Length} characters long, the maximum is {MaxLength}";
        if (name is "." or "..")
            return "\".\" and \"..\" are reserved";
        foreach (var c in name)
        {
            if (!IsLegal(c))
                return $"illegal character '{c}' (U+{(int)c:X4}); only [a-zA-Z0-9._-] are allowed";
        }
        return null;
    }

    private static bool IsLegal(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';
}
