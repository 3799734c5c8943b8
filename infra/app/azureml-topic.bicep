// Deployed into the Azure ML workspace's resource group: the Event Grid system topic of the workspace.
@description('Resource id of the Azure Machine Learning workspace whose events feed the service.')
param workspaceId string
@description('Region of the workspace: a system topic lives in the region of its source.')
param location string
param name string
param tags object

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: last(split(workspaceId, '/'))
}

// A system-assigned identity: the event subscription delivers and dead-letters as the topic, with no account key.
resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    source: workspace.id
    topicType: 'Microsoft.MachineLearningServices.Workspaces'
  }
}

output name string = topic.name
output principalId string = topic.identity.principalId
