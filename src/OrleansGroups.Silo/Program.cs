using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using OrleansGroups.Silo;

// The silo host: settings from appsettings.json, OrleansGroups__* environment variables and the
// command line (in that order of precedence, last wins); see SiloCommandLine for the options.
var parsed = SiloCommandLine.Parse(args);
if (parsed.ExitCode is { } exit)
{
    return exit;
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddInMemoryCollection(parsed.Settings);
return await SiloRunner.RunAsync(builder);
