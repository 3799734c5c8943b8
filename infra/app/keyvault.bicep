@description('Key Vault name: 3 to 24 letters, digits and dashes.')
param name string
param location string
param tags object
@allowed(['default', 'recover'])
@description('recover: bring back the soft-deleted vault of the same name (with its secrets) instead of creating one.')
param createMode string

@secure()
@description('WEBHOOKS_SECRET_KEY; written when given, left as it is when empty.')
param webhooksSecretKey string

@secure()
@description('WEBHOOKS_SECRET_KEY_PREVIOUS; written when given.')
param webhooksSecretKeyPrevious string

@secure()
@description('WEBHOOKS_AUTH_TOKENS; written when given.')
param webhooksAuthTokens string

@secure()
@description('MLFLOW_WEBHOOK_SECRETS; written when given.')
param mlflowWebhookSecrets string

@secure()
@description('The Unity Catalog OAuth secret or personal access token; written when given.')
param unityCatalogCredential string

// RBAC mode: who may read secrets is decided by role assignments (rbac.bicep), not access policies.
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // Purge protection keeps a deleted vault (and the key that opens every stored secret) for 90 days, and its
    // name with it: a redeployment under the same name must recover it (createMode recover) or use a new name.
    createMode: createMode
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource secretKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(webhooksSecretKey)) {
  parent: vault
  name: 'webhooks-secret-key'
  properties: { value: webhooksSecretKey }
}

resource previousSecretKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(webhooksSecretKeyPrevious)) {
  parent: vault
  name: 'webhooks-secret-key-previous'
  properties: { value: webhooksSecretKeyPrevious }
}

resource authTokens 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(webhooksAuthTokens)) {
  parent: vault
  name: 'webhooks-auth-tokens'
  properties: { value: webhooksAuthTokens }
}

resource mlflowSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(mlflowWebhookSecrets)) {
  parent: vault
  name: 'mlflow-webhook-secrets'
  properties: { value: mlflowWebhookSecrets }
}

output name string = vault.name

resource unityCatalogSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(unityCatalogCredential)) {
  parent: vault
  name: 'unity-catalog-credential'
  properties: { value: unityCatalogCredential }
}
