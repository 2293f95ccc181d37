// The storage account behind OrleansGroups: append blobs for the partition logs, tables for
// grain state and cluster membership, queues for streams. Access is by Microsoft Entra ID
// (managed identity) only: shared keys are disabled unless allowSharedKeyAccess is set.

@minLength(3)
@maxLength(24)
@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

@description('Storage redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param skuName string = 'Standard_LRS'

@description('Allow account-key (shared key) authorization. Keep false: silos use their managed identity.')
param allowSharedKeyAccess bool = false

@description('Object id of the principal granted Storage Blob, Table and Queue Data Contributor. Empty grants nothing.')
param dataContributorPrincipalId string = ''

@description('Kind of that principal.')
@allowed([
  'ServicePrincipal'
  'User'
  'Group'
])
param dataContributorPrincipalType string = 'ServicePrincipal'

// Built-in role definition ids (the same in every tenant).
var dataContributorRoles = {
  blob: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor
  table: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  queue: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
}

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: allowSharedKeyAccess
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource dataContributors 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in items(dataContributorRoles): if (!empty(dataContributorPrincipalId)) {
    name: guid(account.id, dataContributorPrincipalId, role.value)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
      principalId: dataContributorPrincipalId
      principalType: dataContributorPrincipalType
    }
  }
]

@description('The storage account name.')
output name string = account.name

@description('The storage account resource id.')
output id string = account.id

@description('Blob service URI (partition logs, blob grain state).')
output blobUri string = account.properties.primaryEndpoints.blob

@description('Table service URI (grain state, cluster membership).')
output tableUri string = account.properties.primaryEndpoints.table

@description('Queue service URI (streams).')
output queueUri string = account.properties.primaryEndpoints.queue
