// Two grains read the topic "orders" as the members of one consumer group, "order-totals": the group gives each
// member half of the partitions, and each member keeps per-customer totals of the orders it is delivered.
// Everything runs in this process (one silo, memory storage); the same grains work on any OrleansGroups cluster.
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGroups;
using OrleansGroups.Client;
using OrleansGroups.Hosting;

const string Topic = OrderTotalsGrain.Topic;
const int Orders = 2_000;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Error);
builder.UseOrleans(silo => silo
    .UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort())
    .AddOrleansGroups(o => o.Storage = StorageKind.Memory));
using var host = builder.Build();
await host.StartAsync();

var grains = host.Services.GetRequiredService<IGrainFactory>();
var groups = new OrleansGroupsClient(grains);
await groups.Admin.CreateTopicAsync(Topic, partitions: 4);

var members = new[] { grains.GetGrain<IOrderTotalsGrain>("totals-a"), grains.GetGrain<IOrderTotalsGrain>("totals-b") };
foreach (var member in members)
{
    await member.Start();
}
// Wait for the group to settle on two partitions each before producing, so the split shows.
var settled = DateTime.UtcNow.AddSeconds(30);
while ((await Task.WhenAll(members.Select(m => m.OwnedPartitions()))).Any(count => count != 2) && DateTime.UtcNow < settled)
{
    await Task.Delay(100);
}

var random = new Random(42);
var expected = new Dictionary<string, decimal>();
await using (var producer = groups.CreateProducer())
{
    var messages = new List<Message>();
    for (var i = 0; i < Orders; i++)
    {
        var customer = $"customer-{random.Next(50)}";
        var amount = random.Next(1, 10_000) / 100m;
        expected[customer] = expected.GetValueOrDefault(customer) + amount;
        messages.Add(Message.FromStrings(customer, amount.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
    await producer.ProduceBatchAsync(Topic, messages);
}
Console.WriteLine($"Produced {Orders} orders of {expected.Count} customers to '{Topic}' (4 partitions).");

var deadline = DateTime.UtcNow.AddSeconds(60);
OrderTotals[] totals;
while (true)
{
    totals = await Task.WhenAll(members.Select(m => m.GetTotals()));
    if (totals.Sum(t => t.Orders) >= Orders || DateTime.UtcNow > deadline)
    {
        break;
    }
    await Task.Delay(200);
}

foreach (var (member, total) in members.Zip(totals))
{
    Console.WriteLine($"{member.GetPrimaryKeyString()}: partitions [{string.Join(", ", total.Partitions.Order())}], " +
        $"{total.Orders} orders, {total.ByCustomer.Count} customers");
}
var merged = totals.SelectMany(t => t.ByCustomer).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
var correct = totals.Sum(t => t.Orders) == Orders && merged.Count == expected.Count && merged.All(kv => expected[kv.Key] == kv.Value);
// Keyed records go to one partition per key, so no customer is split between the members.
var disjoint = !totals[0].ByCustomer.Keys.Intersect(totals[1].ByCustomer.Keys).Any();
Console.WriteLine(correct && disjoint
    ? "Every order was delivered once, each customer to exactly one member: the totals match what was produced."
    : "MISMATCH: the totals do not match what was produced.");

foreach (var member in members)
{
    await member.Stop();
}
await host.StopAsync();
return correct && disjoint ? 0 : 1;

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

/// <summary>What one member has seen.</summary>
[GenerateSerializer, Immutable]
public sealed record OrderTotals(
    [property: Id(0)] int Orders,
    [property: Id(1)] IReadOnlyList<int> Partitions,
    [property: Id(2)] IReadOnlyDictionary<string, decimal> ByCustomer);

/// <summary>A grain that totals orders per customer as a member of the "order-totals" group.</summary>
public interface IOrderTotalsGrain : IGrainWithStringKey, IGroupMemberGrain
{
    Task Start();

    Task Stop();

    Task<OrderTotals> GetTotals();

    Task<int> OwnedPartitions();
}

public sealed class OrderTotalsGrain : GroupMemberGrain, IOrderTotalsGrain
{
    public const string Topic = "orders";
    public const string Group = "order-totals";

    private readonly Dictionary<string, decimal> _byCustomer = [];
    private readonly HashSet<int> _partitions = [];
    private int _orders;

    public Task Start() => JoinGroupAsync(Group, [Topic], fromBeginning: true);

    public Task Stop() => LeaveGroupAsync(Group);

    public Task<OrderTotals> GetTotals() => Task.FromResult(new OrderTotals(_orders, [.. _partitions], new Dictionary<string, decimal>(_byCustomer)));

    public async Task<int> OwnedPartitions() => (await GetMembershipAsync(Group)).Assignment.Count;

    public override Task OnRecords(MemberRecords batch)
    {
        _partitions.Add(batch.Partition.Partition);
        foreach (var record in batch.Records)
        {
            var customer = record.KeyAsString!;
            _byCustomer[customer] = _byCustomer.GetValueOrDefault(customer) + decimal.Parse(record.ValueAsString!, System.Globalization.CultureInfo.InvariantCulture);
            _orders++;
        }
        return Task.CompletedTask;
    }
}
