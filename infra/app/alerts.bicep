// Alert rules on the app's telemetry, sent to one action group. The queries read the names the code emits
// (src/telemetry/metrics.ts); the infra consistency test holds both sides to the same names.
param applicationInsightsName string
param location string
param tags object

@description('Where alerts are emailed; empty for an action group without receivers.')
param alertEmail string

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${applicationInsightsName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'webhooks'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var rules = [
  {
    name: 'poison-queue-not-empty'
    description: 'A poison queue holds messages: events or deliveries that could not be processed.'
    severity: 1
    windowSize: 'PT15M'
    query: '''
customMetrics
| where name == 'webhooks.poison_queue.length'
| extend queue = tostring(customDimensions.queue)
| summarize length = max(value) by queue
'''
    measure: 'length'
    aggregation: 'Maximum'
    dimensions: ['queue']
    threshold: 0
  }
  {
    name: 'event-lag-p95'
    description: 'The 95th percentile of the time from publication to first successful delivery is over 60 s.'
    severity: 2
    windowSize: 'PT15M'
    query: '''
traces
| where message == 'webhooks.event.lag'
| summarize lag_p95_ms = percentile(todouble(customDimensions['webhooks.event.lag_ms']), 95)
'''
    measure: 'lag_p95_ms'
    aggregation: 'Maximum'
    dimensions: []
    threshold: 60000
  }
  {
    name: 'delivery-failure-rate'
    description: 'Over 20% of delivery attempts failed in the last 15 minutes.'
    severity: 2
    windowSize: 'PT15M'
    query: '''
customMetrics
| where name == 'webhooks.deliveries'
| extend outcome = tostring(customDimensions.outcome)
| summarize failed = sumif(valueSum, outcome in ('retrying', 'failed')), total = sumif(valueSum, outcome in ('succeeded', 'retrying', 'failed'))
| where total > 0
| extend failure_percent = 100.0 * failed / total
'''
    measure: 'failure_percent'
    aggregation: 'Maximum'
    dimensions: []
    threshold: 20
  }
  {
    name: 'function-exceptions'
    description: 'A function invocation threw.'
    severity: 2
    windowSize: 'PT5M'
    query: '''
exceptions
| summarize exception_count = count()
'''
    measure: 'exception_count'
    aggregation: 'Total'
    dimensions: []
    threshold: 0
  }
  {
    name: 'webhook-auto-disabled'
    description: 'The service disabled a webhook whose deliveries had all failed for too long.'
    severity: 2
    windowSize: 'PT15M'
    query: '''
customMetrics
| where name == 'webhooks.auto_disabled'
| summarize disabled = sum(valueSum)
'''
    measure: 'disabled'
    aggregation: 'Total'
    dimensions: []
    threshold: 0
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${rule.name}-${applicationInsightsName}'
    location: location
    tags: tags
    properties: {
      displayName: 'registry-webhooks: ${rule.name}'
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [applicationInsights.id]
      evaluationFrequency: 'PT5M'
      windowSize: rule.windowSize
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: rule.aggregation
            metricMeasureColumn: rule.measure
            dimensions: [
              for dimension in rule.dimensions: {
                name: dimension
                operator: 'Include'
                values: ['*']
              }
            ]
            operator: 'GreaterThan'
            threshold: rule.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: [actionGroup.id]
      }
    }
  }
]

output actionGroupName string = actionGroup.name
