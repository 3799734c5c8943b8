param name string
param planName string
param location string
param tags object
param maximumInstanceCount int
param instanceMemoryMB int
@description('Always-ready instances for the http group; 0 for none.')
param alwaysReadyHttpInstances int
@description('Subnet (delegated to Microsoft.App/environments) the app joins; empty for none.')
param virtualNetworkSubnetId string
@description('Resource id of the user-assigned identity the app runs as.')
param identityId string
param identityClientId string
@description('Resource id and client id of the delivery identity, which holds no roles: the source of Entra tokens sent to webhooks.')
param deliveryIdentityId string
param deliveryIdentityClientId string
@description('WEBHOOKS_ENTRA_AUDIENCES: comma-separated entries \'<audience> <origin> [<origin> ...]\'; each audience\'s tokens go only to its origins.')
param entraAudiences string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param keyVaultName string
param usePreviousSecretKey bool
param useStaticTokens bool
param oidcIssuer string
param oidcAudience string
param oidcGrants string
param oidcGrantsClaim string
param consoleClientId string
param databricksWorkspaceUrl string
param deliveryRetrySchedule string
param deliveryTimeout string
param rateLimit string
param retentionSchedule string
param deliveryRetention string
param auditRetention string
param autoDisableAfter string
param circuitCooldown string
param useMlflowIngest bool
param mlflowAliasStages string
param unityCatalogWorkspaceUrl string
param unityCatalogModels string
param unityCatalogClientId string
@description('Whether the Unity Catalog credential is in Key Vault: the OAuth secret with a client id, a personal access token without.')
param useUnityCatalogCredential bool
param unityCatalogPollSchedule string
param unityCatalogRequestBudget int
param unityCatalogEmitBaseline bool

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: { reserved: true }
}

var keyVaultReference = 'VaultName=${keyVaultName}'
var unityCatalogCredentialReference = '@Microsoft.KeyVault(${keyVaultReference};SecretName=unity-catalog-credential)'

// The app settings, exactly the settings src/config/config.ts reads (the consistency test holds the code to them).
var appSettings = {
  // Identity-based storage for the host's triggers and the app's SDK clients alike.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  // DefaultAzureCredential (and anything else using @azure/identity) picks the user-assigned identity.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  WEBHOOKS_SECRET_KEY: '@Microsoft.KeyVault(${keyVaultReference};SecretName=webhooks-secret-key)'
  WEBHOOKS_SECRET_KEY_PREVIOUS: usePreviousSecretKey ? '@Microsoft.KeyVault(${keyVaultReference};SecretName=webhooks-secret-key-previous)' : ''
  WEBHOOKS_AUTH_TOKENS: useStaticTokens ? '@Microsoft.KeyVault(${keyVaultReference};SecretName=webhooks-auth-tokens)' : ''
  WEBHOOKS_AUTH_OIDC_ISSUER: oidcIssuer
  WEBHOOKS_AUTH_OIDC_AUDIENCE: oidcAudience
  WEBHOOKS_AUTH_OIDC_GRANTS: oidcGrants
  WEBHOOKS_AUTH_OIDC_GRANTS_CLAIM: oidcGrantsClaim
  WEBHOOKS_CONSOLE_CLIENT_ID: consoleClientId
  WEBHOOKS_ALLOW_HTTP_TARGETS: 'false'
  WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'false'
  WEBHOOKS_RATE_LIMIT: rateLimit
  DELIVERY_RETRY_SCHEDULE: deliveryRetrySchedule
  DELIVERY_TIMEOUT: deliveryTimeout
  DATABRICKS_WORKSPACE_URL: databricksWorkspaceUrl
  RETENTION_SCHEDULE: retentionSchedule
  DELIVERY_RETENTION: deliveryRetention
  AUDIT_RETENTION: auditRetention
  WEBHOOKS_AUTO_DISABLE_AFTER: autoDisableAfter
  WEBHOOKS_CIRCUIT_COOLDOWN: circuitCooldown
  MLFLOW_WEBHOOK_SECRETS: useMlflowIngest ? '@Microsoft.KeyVault(${keyVaultReference};SecretName=mlflow-webhook-secrets)' : ''
  MLFLOW_ALIAS_STAGES: mlflowAliasStages
  WEBHOOKS_ENTRA_CLIENT_ID: deliveryIdentityClientId
  WEBHOOKS_ENTRA_AUDIENCES: entraAudiences
  UNITY_CATALOG_WORKSPACE_URL: unityCatalogWorkspaceUrl
  UNITY_CATALOG_MODELS: unityCatalogModels
  UNITY_CATALOG_CLIENT_ID: unityCatalogClientId
  UNITY_CATALOG_CLIENT_SECRET: useUnityCatalogCredential && !empty(unityCatalogClientId) ? unityCatalogCredentialReference : ''
  UNITY_CATALOG_TOKEN: useUnityCatalogCredential && empty(unityCatalogClientId) ? unityCatalogCredentialReference : ''
  UNITY_CATALOG_POLL_SCHEDULE: unityCatalogPollSchedule
  UNITY_CATALOG_REQUEST_BUDGET: string(unityCatalogRequestBudget)
  UNITY_CATALOG_EMIT_BASELINE: unityCatalogEmitBaseline ? 'true' : 'false'
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd deploys the service named api in azure.yaml to the app carrying this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {}, '${deliveryIdentityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    // Every outbound connection through the subnet, so deliveries leave by its NAT gateway's static IP.
    vnetRouteAllEnabled: !empty(virtualNetworkSubnetId)
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReadyHttpInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyHttpInstances }] : []
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: appSettings
  }

  // No basic (user name and password) publishing: azd and func publish with Entra ID tokens.
  resource scmBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: { allow: false }
  }

  resource ftpBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: { allow: false }
  }
}

output name string = functionApp.name
output url string = 'https://${functionApp.properties.defaultHostName}'
