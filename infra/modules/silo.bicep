// The silo container app: N replicas of the silo image forming one Orleans cluster through the storage
// table (Azure clustering), reaching storage with the user-assigned managed identity (no keys).
//
// Ports: Container Apps gives an app one ingress port plus additionalPortMappings. The ingress is internal
// TCP on the gateway port (clients inside the environment: <app>.internal.<domain>:30000); the silo port is an
// additional internal mapping. Silos talk to each other on their replica addresses (advertised: auto), which
// they publish in the membership table. The health port is not exposed: the platform probes the replica.

@description('Container app name.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource; azd-service-name is added.')
param tags object = {}

@description('Container Apps environment resource id.')
param environmentId string

@description('Resource id of the user-assigned identity the silos run as.')
param identityId string

@description('Client id of that identity (AZURE_CLIENT_ID for DefaultAzureCredential).')
param identityClientId string

@description('Login server of the registry the image comes from (pulled with the identity).')
param registryServer string

@description('Image to run. Empty: a placeholder until `azd deploy` pushes and sets the silo image.')
param image string = ''

@description('Blob service URI of the storage account (partition logs, grain state).')
param blobServiceUri string

@description('Table service URI of the storage account (cluster membership).')
param tableServiceUri string

@minLength(1)
@description('Orleans cluster id: silos with the same id form one cluster.')
param clusterId string

@minLength(1)
@description('Orleans service id: keys all stored state; keep it stable across deployments.')
param serviceId string

@minValue(2)
@maxValue(300)
@description('Minimum replicas (silos). At least 2, so one silo can be lost or replaced without downtime.')
param minReplicas int = 2

@minValue(2)
@maxValue(300)
@description('Maximum replicas (silos).')
param maxReplicas int = 4

@description('vCPU per replica (Consumption: 0.25-4 in steps of 0.25, with 2 GiB memory per vCPU).')
param cpu string = '1.0'

@description('Memory per replica; must match cpu (Consumption: 2Gi per vCPU).')
param memory string = '2Gi'

@description('Silo-to-silo port.')
param siloPort int = 11111

@description('Client gateway port.')
param gatewayPort int = 30000

@description('Health endpoint port (GET /healthz, /readyz).')
param healthPort int = 8080

@minValue(1)
@maxValue(600)
@description('Seconds the platform waits after SIGTERM before it kills a replica.')
param terminationGracePeriodSeconds int = 120

var placeholderImage = 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest'
var runsSilo = !empty(image) && image != placeholderImage

// The silo's probes. The placeholder image cannot answer them, so they are set once the silo image runs
// (the first `azd up` deploys the image after provisioning; the next `azd provision` adds the probes).
var siloProbes = [
  {
    type: 'Startup'
    httpGet: {
      path: '/healthz'
      port: healthPort
      scheme: 'HTTP'
    }
    periodSeconds: 2
    failureThreshold: 30
    timeoutSeconds: 2
  }
  {
    type: 'Liveness'
    httpGet: {
      path: '/healthz'
      port: healthPort
      scheme: 'HTTP'
    }
    periodSeconds: 10
    failureThreshold: 3
    timeoutSeconds: 3
  }
  {
    type: 'Readiness'
    httpGet: {
      path: '/readyz'
      port: healthPort
      scheme: 'HTTP'
    }
    periodSeconds: 5
    failureThreshold: 2
    timeoutSeconds: 3
  }
]

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'silo' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: false
        transport: 'tcp'
        targetPort: gatewayPort
        exposedPort: gatewayPort
        additionalPortMappings: [
          {
            external: false
            targetPort: siloPort
            exposedPort: siloPort
          }
        ]
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
      containers: [
        {
          name: 'silo'
          image: runsSilo ? image : placeholderImage
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: [
            { name: 'OrleansGroups__Storage', value: 'azure' }
            { name: 'OrleansGroups__Clustering', value: 'azure' }
            // No connection string: the service URIs with DefaultAzureCredential (this identity).
            { name: 'OrleansGroups__BlobServiceUri', value: blobServiceUri }
            { name: 'OrleansGroups__TableServiceUri', value: tableServiceUri }
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'OrleansGroups__ClusterId', value: clusterId }
            { name: 'OrleansGroups__ServiceId', value: serviceId }
            // The replica's own address, published in the membership table for the other silos and clients.
            { name: 'OrleansGroups__AdvertisedIp', value: 'auto' }
            { name: 'OrleansGroups__SiloPort', value: string(siloPort) }
            { name: 'OrleansGroups__GatewayPort', value: string(gatewayPort) }
            { name: 'OrleansGroups__HealthPort', value: string(healthPort) }
            // Drain within the grace period, with a margin for the process to exit.
            { name: 'OrleansGroups__ShutdownTimeoutSeconds', value: string(max(terminationGracePeriodSeconds - 15, 1)) }
          ]
          probes: runsSilo ? siloProbes : []
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: max(minReplicas, maxReplicas)
      }
    }
  }
}

@description('The container app name.')
output name string = app.name

@description('Internal FQDN of the gateway ingress (TCP, port gatewayPort), reachable inside the environment.')
output gatewayFqdn string = app.properties.configuration.ingress.fqdn
