@description('Storage account name: 3 to 24 lowercase letters and digits.')
param name string
param location string
param tags object
@description('Blob container the Flex Consumption app deploys its package from.')
param deploymentContainerName string
@description('Refuse every public network path: the account is then reached only through private endpoints (network.bicep).')
param privateOnly bool = false
@description('With privateOnly: still admit trusted Azure services that authenticate with a managed identity (Event Grid delivering the Azure ML source).')
param trustedServicesWrite bool = false

// Every queue and table the app uses (src/storage/names.ts); the consistency test checks the two match.
var queueNames = [
  'registry-events'
  'registry-events-poison'
  'webhook-deliveries'
  'webhook-deliveries-poison'
  'azureml-events'
  'azureml-events-poison'
]
var tableNames = [
  'webhooks'
  'webhookids'
  'deliveries'
  'audit'
  'eventclaims'
  'deliverydays'
  'rateslots'
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    // Private only, unless a trusted Azure service must write: Event Grid delivers the Azure ML source's events with its
    // managed identity through the trusted-services exception, which a disabled public endpoint would refuse too.
    publicNetworkAccess: privateOnly && !trustedServicesWrite ? 'Disabled' : 'Enabled'
    networkAcls: privateOnly
      ? {
          defaultAction: 'Deny'
          bypass: trustedServicesWrite ? 'AzureServices' : 'None'
        }
      : {
          defaultAction: 'Allow'
          bypass: 'AzureServices'
        }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

output name string = account.name
output deploymentContainerName string = deploymentContainer.name
output queueEndpoint string = account.properties.primaryEndpoints.queue
output id string = account.id
