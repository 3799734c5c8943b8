targetScope = 'subscription'

@minLength(1)
@maxLength(32)
@description('Name of the environment (azd: AZURE_ENV_NAME), used for the resource group name and a short unique hash in every resource name. After a teardown, reuse it only with keyVaultCreateMode=recover, or pick a new one: the soft-deleted vault keeps its name for 90 days.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer the Flex Consumption plan.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person (or service principal) deploying (azd: AZURE_PRINCIPAL_ID). When given, it may add messages to the queues and read and write the tables, for trying the service out and for npm run rotate-secrets; empty for no access.')
param principalId string = ''

@allowed(['default', 'recover'])
@description('recover brings back the soft-deleted Key Vault of an earlier deployment with the same environment name and location (with its secrets); default creates it. Set recover only for the first deployment after a teardown.')
param keyVaultCreateMode string = 'default'

@description('OIDC issuer of bearer tokens for the API, e.g. https://login.microsoftonline.com/<tenant id>/v2.0; empty for static tokens only.')
param oidcIssuer string = ''

@description('Audience (the API application ID URI or client id) the OIDC tokens must carry; empty when oidcIssuer is.')
param oidcAudience string = ''

@description('WEBHOOKS_AUTH_OIDC_GRANTS: claim values (Entra group object ids) to model-scoped roles, e.g. <group id>=manager[fraud-*];<group id>=publisher[fraud-*]; empty for app roles only.')
param oidcGrants string = ''

@description('WEBHOOKS_AUTH_OIDC_GRANTS_CLAIM: the token claim oidcGrants maps.')
param oidcGrantsClaim string = 'groups'

@description('Client id of the Entra ID app registration the console signs in with (a single-page app whose redirect URI is https://<app>/api/console); empty for pasted tokens only. Needs oidcIssuer and oidcAudience.')
param consoleClientId string = ''

@description('Databricks workspace for job webhooks without workspace_url; empty for none.')
param databricksWorkspaceUrl string = ''

@secure()
@description('WEBHOOKS_SECRET_KEY: base64 of 32 random bytes. Give it on the first deployment (and when rotating); leave it empty afterwards to keep the one in Key Vault.')
param webhooksSecretKey string = ''

@secure()
@description('The key before the last rotation (WEBHOOKS_SECRET_KEY_PREVIOUS), stored in Key Vault when given.')
param webhooksSecretKeyPrevious string = ''

@description('Whether the app reads WEBHOOKS_SECRET_KEY_PREVIOUS from Key Vault (true while a key rotation is under way).')
param usePreviousSecretKey bool = false

@secure()
@description('Static bearer tokens (WEBHOOKS_AUTH_TOKENS, role:token,...), stored in Key Vault when given.')
param webhooksAuthTokens string = ''

@description('Whether the app reads WEBHOOKS_AUTH_TOKENS from Key Vault.')
param useStaticTokens bool = false

@secure()
@description('MLFLOW_WEBHOOK_SECRETS (comma list): the secrets of the MLflow webhooks that point at /api/ingest/mlflow, stored in Key Vault when given.')
param mlflowWebhookSecrets string = ''

@description('Whether the app reads MLFLOW_WEBHOOK_SECRETS from Key Vault, which turns the MLflow ingest endpoint on.')
param useMlflowIngest bool = false

@description('MLFLOW_ALIAS_STAGES: MLflow alias to stage, e.g. champion:Production; empty for the default map.')
param mlflowAliasStages string = ''

@description('UNITY_CATALOG_WORKSPACE_URL: the Databricks workspace whose Unity Catalog models are polled; empty (the default) turns the source off.')
param unityCatalogWorkspaceUrl string = ''

@description('UNITY_CATALOG_MODELS: comma list of catalog.schema.model to watch, the model part may be *.')
param unityCatalogModels string = ''

@description('UNITY_CATALOG_CLIENT_ID: the Databricks OAuth service principal; empty for a personal access token or the app\'s managed identity.')
param unityCatalogClientId string = ''

@secure()
@description('The Unity Catalog credential, stored in Key Vault when given: the service principal\'s OAuth secret (with unityCatalogClientId), or else a personal access token. Empty for the app\'s managed identity.')
param unityCatalogCredential string = ''

@description('Whether the app reads the Unity Catalog credential from Key Vault (UNITY_CATALOG_CLIENT_SECRET with a client id, UNITY_CATALOG_TOKEN without).')
param useUnityCatalogCredential bool = false

@description('UNITY_CATALOG_POLL_SCHEDULE: when the Unity Catalog poller runs (six-field NCRONTAB, in UTC).')
param unityCatalogPollSchedule string = '*/30 * * * * *'

@minValue(10)
@maxValue(100000)
@description('UNITY_CATALOG_REQUEST_BUDGET: Unity Catalog requests per poll; a poll that spends it resumes on the next.')
param unityCatalogRequestBudget int = 500

@description('UNITY_CATALOG_EMIT_BASELINE: publish what the first poll finds instead of recording it silently.')
param unityCatalogEmitBaseline bool = false

@description('DELIVERY_RETRY_SCHEDULE.')
param deliveryRetrySchedule string = '0s,5s,5m,30m,2h,5h,10h,10h'

@description('DELIVERY_TIMEOUT.')
param deliveryTimeout string = '15s'

@description('WEBHOOKS_RATE_LIMIT: requests per principal and instance.')
param rateLimit string = '1200/1m'

@description('RETENTION_SCHEDULE: when the retention timer runs (six-field NCRONTAB, in UTC).')
param retentionSchedule string = '0 0 * * * *'

@description('DELIVERY_RETENTION: how long delivery records (attempts and payloads) are kept.')
param deliveryRetention string = '30d'

@description('AUDIT_RETENTION: how long audit entries are kept.')
param auditRetention string = '400d'

@description('WEBHOOKS_AUTO_DISABLE_AFTER: a webhook failing this long is disabled by the service; 0 turns it off.')
param autoDisableAfter string = '5d'

@description('WEBHOOKS_CIRCUIT_COOLDOWN: the first cool-down of an origin\'s open circuit (doubles per failed probe, up to 10m).')
param circuitCooldown string = '30s'

@description('WEBHOOKS_ENTRA_AUDIENCES: Entra audiences webhooks may ask a delivery token for (http_url_spec.azure_ad_audience), each with the only origins its tokens may go to: comma-separated entries \'<audience> <origin> [<origin> ...]\', e.g. \'api://orders https://orders.contoso.com\'; empty: none.')
param entraAudiences string = ''

@description('Email address alerts are sent to; empty for none (the alert rules and action group are still created).')
param alertEmail string = ''

@description('Resource id of an Azure Machine Learning workspace whose ModelRegistered events feed the service through Event Grid (queue azureml-events); empty for none.')
param azureMlWorkspaceId string = ''

@description('Region of that workspace, when it is not the deployment region.')
param azureMlWorkspaceLocation string = location

@minValue(40)
@maxValue(1000)
@description('Most instances the Flex Consumption app may scale out to.')
param maximumInstanceCount int = 100

@allowed([512, 2048, 4096])
@description('Memory of each Flex Consumption instance, in MB.')
param instanceMemoryMB int = 2048

@minValue(0)
@maxValue(20)
@description('Always-ready instances for the HTTP functions (billed while idle; 0 for none, so the first request after a quiet spell waits for a cold start).')
param alwaysReadyHttpInstances int = 0

@description('Network hardening: the storage account only reachable through private endpoints in a new virtual network, which the app joins. Queue producers outside that network can then publish only over HTTP.')
param vnetEnabled bool = false

@description('Send Key Vault audit events (AuditEvent) and the function logs (FunctionAppLogs) to the Log Analytics workspace.')
param diagnosticsEnabled bool = false

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
// azd finds the resources of an environment by azd-env-name, and the app it deploys to by azd-service-name (api.bicep).
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-webhooks-${resourceToken}'

// A use* flag and its secret go together, so that the app never references a Key Vault secret that no deployment
// wrote, and no secret is written that nothing reads. Each deployment that uses a secret passes it again (azd does
// this from its environment): the secret is rewritten with the same value.
var previousKeyUsed = usePreviousSecretKey == !empty(webhooksSecretKeyPrevious)
  ? usePreviousSecretKey
  : fail('usePreviousSecretKey=true needs webhooksSecretKeyPrevious, and webhooksSecretKeyPrevious needs usePreviousSecretKey=true')
var staticTokensUsed = useStaticTokens == !empty(webhooksAuthTokens)
  ? useStaticTokens
  : fail('useStaticTokens=true needs webhooksAuthTokens, and webhooksAuthTokens needs useStaticTokens=true')
var mlflowIngestUsed = useMlflowIngest == !empty(mlflowWebhookSecrets)
  ? useMlflowIngest
  : fail('useMlflowIngest=true needs mlflowWebhookSecrets, and mlflowWebhookSecrets needs useMlflowIngest=true')
var unityCatalogCredentialUsed = useUnityCatalogCredential == !empty(unityCatalogCredential)
  ? useUnityCatalogCredential
  : fail('useUnityCatalogCredential=true needs unityCatalogCredential, and unityCatalogCredential needs useUnityCatalogCredential=true')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-webhooks-${resourceToken}'
    location: location
    tags: tags
  }
}

// The delivery identity: Entra tokens for webhook endpoints (http_url_spec.azure_ad_audience) come from it, never
// from the app's identity, whose storage and Key Vault rights must not reach a URL a manager chooses. No role is
// ever assigned to it.
module deliveryIdentity 'app/identity.bicep' = {
  name: 'delivery-identity'
  scope: rg
  params: {
    name: 'id-webhooks-delivery-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stwebhooks${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${resourceToken}'
    privateOnly: vnetEnabled
    trustedServicesWrite: vnetEnabled && azureMlEnabled
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: 'vnet-webhooks-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-webhooks-${resourceToken}'
    applicationInsightsName: 'appi-webhooks-${resourceToken}'
    location: location
    tags: tags
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    alertEmail: alertEmail
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-wh-${resourceToken}'
    location: location
    tags: tags
    createMode: keyVaultCreateMode
    webhooksSecretKey: webhooksSecretKey
    webhooksSecretKeyPrevious: previousKeyUsed ? webhooksSecretKeyPrevious : ''
    webhooksAuthTokens: staticTokensUsed ? webhooksAuthTokens : ''
    mlflowWebhookSecrets: mlflowIngestUsed ? mlflowWebhookSecrets : ''
    unityCatalogCredential: unityCatalogCredentialUsed ? unityCatalogCredential : ''
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    deployerPrincipalId: principalId
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  dependsOn: [rbac]
  params: {
    name: functionAppName
    planName: 'plan-webhooks-${resourceToken}'
    location: location
    tags: tags
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    virtualNetworkSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    deliveryIdentityId: deliveryIdentity.outputs.id
    deliveryIdentityClientId: deliveryIdentity.outputs.clientId
    entraAudiences: entraAudiences
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    usePreviousSecretKey: previousKeyUsed
    useStaticTokens: staticTokensUsed
    oidcIssuer: oidcIssuer
    oidcAudience: oidcAudience
    oidcGrants: oidcGrants
    oidcGrantsClaim: oidcGrantsClaim
    consoleClientId: consoleClientId
    databricksWorkspaceUrl: databricksWorkspaceUrl
    deliveryRetrySchedule: deliveryRetrySchedule
    deliveryTimeout: deliveryTimeout
    rateLimit: rateLimit
    retentionSchedule: retentionSchedule
    deliveryRetention: deliveryRetention
    auditRetention: auditRetention
    autoDisableAfter: autoDisableAfter
    circuitCooldown: circuitCooldown
    useMlflowIngest: mlflowIngestUsed
    mlflowAliasStages: mlflowAliasStages
    unityCatalogWorkspaceUrl: unityCatalogWorkspaceUrl
    unityCatalogModels: unityCatalogModels
    unityCatalogClientId: unityCatalogClientId
    useUnityCatalogCredential: unityCatalogCredentialUsed
    unityCatalogPollSchedule: unityCatalogPollSchedule
    unityCatalogRequestBudget: unityCatalogRequestBudget
    unityCatalogEmitBaseline: unityCatalogEmitBaseline
  }
}

// Azure ML through Event Grid (optional): the workspace's system topic and its subscription live in the
// workspace's resource group; the dead-letter container and the topic identity's roles live here.
var azureMlEnabled = !empty(azureMlWorkspaceId)
var azureMlQueueName = 'azureml-events'
var azureMlScope = split(azureMlEnabled ? azureMlWorkspaceId : '${rg.id}/providers/none/none/none', '/')

module azureMlTopic 'app/azureml-topic.bicep' = if (azureMlEnabled) {
  name: 'azureml-topic'
  scope: resourceGroup(azureMlScope[2], azureMlScope[4])
  params: {
    workspaceId: azureMlWorkspaceId
    location: azureMlWorkspaceLocation
    name: 'egst-azureml-${resourceToken}'
    tags: tags
  }
}

module azureMlDelivery 'app/azureml-delivery.bicep' = if (azureMlEnabled) {
  name: 'azureml-delivery'
  scope: rg
  params: {
    topicPrincipalId: azureMlTopic.?outputs.principalId ?? ''
    storageAccountName: storage.outputs.name
    queueName: azureMlQueueName
    deadLetterContainerName: 'azureml-dead-letters'
  }
}

module azureMlSubscription 'app/azureml-subscription.bicep' = if (azureMlEnabled) {
  name: 'azureml-subscription'
  scope: resourceGroup(azureMlScope[2], azureMlScope[4])
  params: {
    topicName: azureMlTopic.?outputs.name ?? ''
    storageAccountId: storage.outputs.id
    queueName: azureMlQueueName
    deadLetterContainerName: azureMlDelivery.?outputs.deadLetterContainerName ?? ''
  }
}


module diagnostics 'app/diagnostics.bicep' = if (diagnosticsEnabled) {
  name: 'diagnostics'
  scope: rg
  params: {
    keyVaultName: keyVault.outputs.name
    functionAppName: api.outputs.name
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = api.outputs.name
output KEY_VAULT_NAME string = keyVault.outputs.name
output FUNCTION_APP_URL string = api.outputs.url
output API_BASE_URL string = '${api.outputs.url}/api/2.0/mlflow/registry-webhooks'
output REGISTRY_EVENTS_QUEUE_URL string = '${storage.outputs.queueEndpoint}registry-events'
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
@description('With vnetEnabled: the static public IP of the NAT gateway every delivery leaves from, for receivers to allowlist; empty without.')
output EGRESS_IP string = vnetEnabled ? network!.outputs.egressIp : ''
