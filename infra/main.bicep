// OrleansGroups on Azure: storage for the log, grain state, clustering and streams, and the
// managed identity the silos use to reach it (no keys). Deployed by `azd up` (see azure.yaml)
// into the environment's resource group.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names and tags every resource.')
param environmentName string

@description('Azure region for all resources.')
param location string = resourceGroup().location

@description('Storage redundancy. Standard_LRS is enough for dev; use Standard_ZRS for production.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param storageSkuName string = 'Standard_LRS'

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}

// The identity the silos run as; granted data-plane roles on the storage account.
resource siloIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-og-${resourceToken}'
  location: location
  tags: tags
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'stog${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    dataContributorPrincipalId: siloIdentity.properties.principalId
  }
}

output AZURE_LOCATION string = location
output AZURE_MANAGED_IDENTITY_ID string = siloIdentity.id
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = siloIdentity.properties.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_URI string = storage.outputs.blobUri
output AZURE_STORAGE_QUEUE_URI string = storage.outputs.queueUri
output AZURE_STORAGE_TABLE_URI string = storage.outputs.tableUri
