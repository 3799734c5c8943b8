// The operations workbook: deliveries per second by outcome, event lag p50 and p95, the top failing
// webhooks and poisoned messages, all read from the app's telemetry in Application Insights.
param applicationInsightsName string
param location string
param tags object

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, applicationInsightsName, 'registry-webhooks-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'registry-webhooks operations'
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: string(loadJsonContent('workbook.json'))
  }
}
