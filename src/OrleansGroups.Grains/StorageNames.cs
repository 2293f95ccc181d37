namespace OrleansGroups;

/// <summary>Names of the Orleans providers OrleansGroups registers.</summary>
public static class StorageNames
{
    /// <summary>Grain storage for topic metadata, groups and offsets.</summary>
    public const string State = "orleansgroups";
}
