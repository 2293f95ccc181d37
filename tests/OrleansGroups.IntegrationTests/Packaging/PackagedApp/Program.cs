// A user's Orleans app that knows OrleansGroups only from its NuGet packages (PackagingTests copies this
// folder outside the repository and builds it against the packed packages): a silo with AddOrleansGroups()
// in memory mode, and an Orleans client with AddOrleansGroupsClient() that creates a topic, produces one
// record and consumes it in a group. It then keeps the silo up until SIGTERM, for `og` to talk to.
//   dotnet PackagedApp.dll SILO_PORT GATEWAY_PORT
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGroups.Client;
using OrleansGroups.Hosting;

var siloPort = int.Parse(args[0]);
var gatewayPort = int.Parse(args[1]);

var siloBuilder = Host.CreateApplicationBuilder();
siloBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
siloBuilder.UseOrleans(silo => silo
    .UseLocalhostClustering(siloPort, gatewayPort)
    .AddOrleansGroups(o => o.Storage = StorageKind.Memory));
using var silo = siloBuilder.Build();
await silo.StartAsync();

var clientBuilder = Host.CreateApplicationBuilder();
clientBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
clientBuilder.UseOrleansClient(client => client
    .UseLocalhostClustering(gatewayPort)
    .AddOrleansGroupsClient());
using var client = clientBuilder.Build();
await client.StartAsync();

var groups = client.Services.GetRequiredService<OrleansGroupsClient>();
await groups.Admin.CreateTopicAsync("greetings", partitions: 1);
await using (var producer = groups.CreateProducer())
{
    var delivered = await producer.ProduceAsync("greetings", Message.FromStrings("hello", "from the packages"));
    Console.WriteLine($"produced at greetings/{delivered.Partition}@{delivered.Offset}");
}

var consumer = groups.CreateConsumer(new ConsumerOptions("readers") { AutoOffsetReset = AutoOffsetReset.Earliest });
consumer.Subscribe("greetings");
var deadline = DateTime.UtcNow.AddSeconds(60);
ConsumeResult? record = null;
while (record is null && DateTime.UtcNow < deadline)
{
    record = await consumer.ConsumeAsync(TimeSpan.FromSeconds(5));
}
if (record is null)
{
    Console.WriteLine("consumed nothing within 60 s");
    return 1;
}
Console.WriteLine($"consumed {record.KeyAsString}={record.ValueAsString} at greetings/{record.Partition}@{record.Offset}");
await consumer.CommitAsync();
await consumer.CloseAsync();

Console.WriteLine($"serving on gateway 127.0.0.1:{gatewayPort} until SIGTERM");
await silo.WaitForShutdownAsync();
await client.StopAsync();
return 0;
