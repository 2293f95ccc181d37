// OrleansGroups on Azure Container Apps, deployed by `azd up` (see azure.yaml) into the environment's
// resource group. One module per concern:
//   monitoring         Log Analytics workspace
//   identity           the user-assigned managed identity the silos run as
//   storage            blobs (partition logs, grain state), tables (membership), queues; data roles for the identity
//   registry           the container registry azd pushes the image to; AcrPull for the identity
//   containerapps-env  the Container Apps environment
//   silo               the silo container app (>= 2 replicas, internal TCP gateway, probes, managed identity)
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

@minLength(1)
@description('Orleans cluster id: silos (and clients) with the same id form one cluster.')
param clusterId string = 'default'

@minLength(1)
@description('Orleans service id: keys all stored state (topics, offsets, logs). Keep it stable across deployments.')
param serviceId string = 'orleansgroups'

@minValue(2)
@maxValue(300)
@description('Minimum silo replicas (at least 2).')
param minReplicas int = 2

@minValue(2)
@maxValue(300)
@description('Maximum silo replicas.')
param maxReplicas int = 4

@description('Whether the silo container app exists (azd sets SERVICE_SILO_RESOURCE_EXISTS after the first deployment).')
param siloExists bool = false

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}
var siloAppName = 'ca-silo-${resourceToken}'

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: 'log-og-${resourceToken}'
    location: location
    tags: tags
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-og-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'stog${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    dataContributorPrincipalId: identity.outputs.principalId
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  params: {
    name: 'crog${resourceToken}'
    location: location
    tags: tags
    pullPrincipalId: identity.outputs.principalId
  }
}

module environment 'modules/containerapps-env.bicep' = {
  name: 'containerapps-env'
  params: {
    name: 'cae-og-${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceName: monitoring.outputs.name
  }
}

module siloImage 'modules/silo-image.bicep' = {
  name: 'silo-image'
  params: {
    name: siloAppName
    exists: siloExists
  }
}

module silo 'modules/silo.bicep' = {
  // Uses the registry's and the storage account's outputs, so it starts after those modules, role
  // assignments included: the identity can pull the image and reach storage before the first replica starts.
  name: 'silo'
  params: {
    name: siloAppName
    location: location
    tags: tags
    environmentId: environment.outputs.id
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    registryServer: registry.outputs.loginServer
    image: siloExists ? first(siloImage.outputs.images) : ''
    blobServiceUri: storage.outputs.blobUri
    tableServiceUri: storage.outputs.tableUri
    clusterId: clusterId
    serviceId: serviceId
    minReplicas: minReplicas
    maxReplicas: maxReplicas
  }
}

// azd reads these (the registry to push to, the environment); clients need the rest.
output AZURE_LOCATION string = location
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = environment.outputs.name
output AZURE_CONTAINER_APPS_ENVIRONMENT_ID string = environment.outputs.id
output AZURE_MANAGED_IDENTITY_ID string = identity.outputs.id
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_URI string = storage.outputs.blobUri
output AZURE_STORAGE_QUEUE_URI string = storage.outputs.queueUri
output AZURE_STORAGE_TABLE_URI string = storage.outputs.tableUri
output ORLEANSGROUPS_SILO_APP_NAME string = silo.outputs.name
output ORLEANSGROUPS_GATEWAY_FQDN string = silo.outputs.gatewayFqdn
output ORLEANSGROUPS_GATEWAY_PORT int = 30000
output ORLEANSGROUPS_CLUSTER_ID string = clusterId
output ORLEANSGROUPS_SERVICE_ID string = serviceId
