// The Container Apps environment the silos run in (workload-profiles environment, Consumption profile),
// with its logs in the monitoring workspace. Silos of one environment reach each other directly by replica
// address on the silo port; clients inside it use the app's internal TCP ingress for the gateway.

@description('Environment name.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

@description('Name of the Log Analytics workspace (monitoring.bicep) in this resource group.')
param logAnalyticsWorkspaceName string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsWorkspaceName
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    zoneRedundant: false
  }
}

@description('The environment resource id.')
output id string = environment.id

@description('The environment name.')
output name string = environment.name

@description('Default domain: internal apps are reachable at <app>.internal.<defaultDomain>.')
output defaultDomain string = environment.properties.defaultDomain
