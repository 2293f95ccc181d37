// Log Analytics: where the Container Apps environment sends the silos' console output and system logs.

@description('Workspace name.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

@minValue(30)
@maxValue(730)
@description('Days logs are kept.')
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

@description('The workspace name (the Container Apps environment reads its keys at deployment).')
output name string = workspace.name

@description('The workspace resource id.')
output id string = workspace.id
