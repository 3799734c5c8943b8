@description('Principal (object) id of the user-assigned identity the app runs as.')
param principalId string
param storageAccountName string
param keyVaultName string
param applicationInsightsName string
@description('Object id of the deploying user or service principal; empty for none.')
param deployerPrincipalId string

// Built-in role definitions (stable ids across clouds).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Blob: the Functions host keeps its leases and keys in AzureWebJobsStorage, and deployments read the package.
// Queues: Storage Queue Data Contributor. The queue trigger reads, receives and deletes messages, the app adds
// them (publish, retries, poison moves), the scale controller reads queue lengths, and the trigger also *updates*
// messages: after a failure it sets the message's visibilityTimeout, and on a long run it renews the message's
// visibility. Update Message needs queues/messages/write, which Reader, Message Processor and Message Sender all
// lack (without it a failed message returns after 10 minutes instead of 30 s, and a run longer than 10 minutes
// can be processed twice). Contributor is the one built-in role holding it. A custom role with only that
// dataAction would be narrower, but the deployer would need Microsoft.Authorization/roleDefinitions/write and
// the definition would outlive the resource group; what Contributor adds beyond it (create and delete queues)
// is small next to the table rights the app already holds.
// Tables: the webhook, delivery, audit and dedup tables.
var storageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

// The deployer (azd passes AZURE_PRINCIPAL_ID): put events straight onto the queue to try the service, and read
// and write the tables for npm run rotate-secrets. Nothing when deployerPrincipalId is empty.
var deployerStorageRoles = empty(deployerPrincipalId) ? [] : [
  roles.storageQueueDataMessageSender
  roles.storageTableDataContributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource storageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    name: guid(storage.id, principalId, role)
    scope: storage
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

resource deployerStorageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in deployerStorageRoles: {
    name: guid(storage.id, deployerPrincipalId, role)
    scope: storage
    properties: {
      principalId: deployerPrincipalId
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

// Key Vault references in app settings resolve with this identity: it may read secrets and nothing more.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Telemetry to Application Insights with Entra auth (local auth is off).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}
