using System.CommandLine;
using OrleansGroups.Cli.Commands;

// og: topics, producing, consuming and consumer groups on an OrleansGroups cluster, plus a self-contained demo.
var root = new RootCommand(
    "og: Kafka-style topics and consumer groups on Orleans.\n\n" +
    "Cluster commands connect to a silo gateway (--gateway, default 127.0.0.1:30000) or find the silos through\n" +
    "Azure Table clustering (--clustering azure --connection-string CS). A silo with TLS needs --tls-ca CERT\n" +
    "(its certificate or CA, PEM or DER), or --tls (machine trust store), or --tls-allow-untrusted (development).\n" +
    "Command output goes to stdout; errors are one 'error: ...' line on stderr.\n\n" +
    "Exit codes: 0 success, 1 error (bad argument, unknown topic or group, failed write, demo invariant broken),\n" +
    "3 cluster unreachable, 130 interrupted.")
{
    TopicCommands.Create(),
    ProduceCommand.Create(),
    ConsumeCommand.Create(),
    GroupCommands.Create(),
    DemoCommand.Create(),
};

// Longer than the default 2 s: on Ctrl+C, consume commits and leaves its group before exiting.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(10) };
return await root.Parse(args).InvokeAsync(invocation);
