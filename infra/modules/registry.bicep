// The container registry azd pushes the silo image to; the silos' identity pulls from it (AcrPull), so the
// registry's admin user stays disabled.

@minLength(5)
@maxLength(50)
@description('Registry name: 5-50 letters and digits, globally unique.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

@description('Object id of the principal that pulls images (the silos\' managed identity).')
param pullPrincipalId string

// Built-in role definition id (the same in every tenant).
var acrPullRole = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, pullPrincipalId, acrPullRole)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRole)
    principalId: pullPrincipalId
    principalType: 'ServicePrincipal'
  }
}

@description('The registry name.')
output name string = registry.name

@description('Login server, e.g. crxyz.azurecr.io (azd pushes here).')
output loginServer string = registry.properties.loginServer
