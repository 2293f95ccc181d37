// The image the silo container app runs now, so that `azd provision` after a deployment keeps it (azd sets
// SERVICE_SILO_RESOURCE_EXISTS once the app exists). A separate module: a template cannot read the resource
// it deploys.

@description('Container app name.')
param name string

@description('Whether the container app exists already.')
param exists bool

resource existingApp 'Microsoft.App/containerApps@2024-03-01' existing = if (exists) {
  name: name
}

@description('The images of the app\'s containers; empty when it does not exist yet.')
output images array = exists ? map(existingApp!.properties.template.containers, c => c.image) : []
