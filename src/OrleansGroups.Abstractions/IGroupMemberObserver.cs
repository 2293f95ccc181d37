namespace OrleansGroups;

/// <summary>
/// A member's doorbell: the group rings it when a heartbeat from that member would now make progress (partitions to
/// give up, free partitions to take, a new epoch), so rebalances do not wait for the next heartbeat interval.
/// Only an optimisation: a lost ring delays until the next regular heartbeat, never more.
/// </summary>
public interface IGroupMemberObserver : IGrainObserver
{
    /// <summary>Heartbeat now.</summary>
    [OneWay]
    Task OnGroupChanged();
}
