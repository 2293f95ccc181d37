// The user-assigned managed identity the silos run as. It is what storage.bicep grants the Storage Blob,
// Table and Queue Data Contributor roles and registry.bicep the AcrPull role: the silos hold no keys and no
// connection strings; DefaultAzureCredential picks this identity through AZURE_CLIENT_ID.

@description('Identity name.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id (assigned to the container app).')
output id string = identity.id

@description('Client id: the AZURE_CLIENT_ID the silos pass to DefaultAzureCredential.')
output clientId string = identity.properties.clientId

@description('Principal (object) id: the subject of the role assignments.')
output principalId string = identity.properties.principalId
