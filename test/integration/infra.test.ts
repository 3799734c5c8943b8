import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, cpSync, appendFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { AZURE_APP_SETTINGS } from '../../src/config.js';
import { LAG_SAMPLE_ATTRIBUTE, METRIC_NAMES } from '../../src/metrics.js';
import { ALL_QUEUES, ALL_TABLES } from '../../src/storage/names.js';
import { compileBicep, runBicep } from '../../scripts/bicep.js';

interface ArmResource {
  type: string;
  name: string;
  properties?: Record<string, unknown> & { template?: ArmTemplate };
  copy?: { count: string };
}
interface ArmTemplate {
  resources: ArmResource[];
  variables?: Record<string, unknown>;
}

/** Every resource of the compiled template and its nested module templates, with the template holding it. */
function allResources(template: ArmTemplate): { resource: ArmResource; template: ArmTemplate }[] {
  return template.resources.flatMap((resource) => [
    { resource, template },
    ...(resource.properties?.template ? allResources(resource.properties.template) : []),
  ]);
}

/** The names a resource loop creates: the template variable its copy count ranges over. */
function loopNames(resources: { resource: ArmResource; template: ArmTemplate }[], type: string): string[] {
  const found = resources.find(({ resource }) => resource.type === type);
  const variable = /length\(variables\('(\w+)'\)\)/.exec(found?.resource.copy?.count ?? '')?.[1];
  assert.ok(found && variable, `a loop of ${type} over a variable`);
  return found.template.variables?.[variable] as string[];
}

/** Settings the platform needs that the code does not read itself. */
const PLATFORM_SETTINGS = ['AzureWebJobsStorage__blobServiceUri', 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'];

/** The names a KQL query selects: `name == 'x'`, `name in ('x', 'y')`, `message == 'x'`. */
function metricNamesIn(query: string): string[] {
  const names = [...query.matchAll(/\b(?:name|message)\s*==\s*'([^']+)'/g)].map((match) => match[1] ?? '');
  for (const list of query.matchAll(/\bname\s+in\s*\(([^)]*)\)/g)) names.push(...[...(list[1] ?? '').matchAll(/'([^']+)'/g)].map((match) => match[1] ?? ''));
  return names;
}

interface AlertRule {
  name: string;
  query: string;
  threshold: number;
  windowSize: string;
}

let compiledRules: AlertRule[] | undefined;

/** The alert rules as infra/app/alerts.bicep defines them (the compiled loop's variable). */
function alertRules(): AlertRule[] {
  compiledRules ??= (compileBicep('infra/app/alerts.bicep') as unknown as ArmTemplate).variables?.rules as AlertRule[];
  return compiledRules;
}

const workbookText = (): string => readFileSync('infra/app/workbook.json', 'utf8');

describe('infrastructure (compiled by the real Bicep compiler)', () => {
  let resources: { resource: ArmResource; template: ArmTemplate }[];
  const ofType = (type: string) => resources.filter(({ resource }) => resource.type === type).map(({ resource }) => resource);

  before(() => {
    resources = allResources(compileBicep('infra/main.bicep') as unknown as ArmTemplate);
  });

  it('sets every app setting the code reads, and nothing else but what the platform needs', () => {
    const [settings] = ofType('Microsoft.Web/sites/config').filter((resource) => resource.name.includes('appsettings'));
    const names = Object.keys(settings?.properties ?? {});
    for (const name of AZURE_APP_SETTINGS) assert.ok(names.includes(name), `infra/ does not set ${name}`);
    for (const name of names) assert.ok(AZURE_APP_SETTINGS.includes(name) || PLATFORM_SETTINGS.includes(name), `infra/ sets ${name}, which nothing reads`);
    assert.equal(settings?.properties?.AzureWebJobsStorage__credential, 'managedidentity');
    assert.equal(settings?.properties?.WEBHOOKS_ALLOW_HTTP_TARGETS, 'false');
    assert.equal(settings?.properties?.WEBHOOKS_ALLOW_PRIVATE_TARGETS, 'false');
    assert.match(String(settings?.properties?.WEBHOOKS_SECRET_KEY), /@Microsoft\.KeyVault\(/);
  });

  it('provisions every queue (with its poison queue) and every table the code uses', () => {
    assert.deepEqual([...loopNames(resources, 'Microsoft.Storage/storageAccounts/queueServices/queues')].sort(), [...ALL_QUEUES].sort());
    assert.deepEqual([...loopNames(resources, 'Microsoft.Storage/storageAccounts/tableServices/tables')].sort(), [...ALL_TABLES].sort());
  });

  it('locks the storage account down and runs the app on Flex Consumption, Node 22, as its identity', () => {
    const [account] = ofType('Microsoft.Storage/storageAccounts');
    assert.deepEqual(
      { shared: account?.properties?.allowSharedKeyAccess, tls: account?.properties?.minimumTlsVersion, publicBlob: account?.properties?.allowBlobPublicAccess },
      { shared: false, tls: 'TLS1_2', publicBlob: false },
    );
    const [plan] = ofType('Microsoft.Web/serverfarms') as (ArmResource & { sku?: { tier: string } })[];
    assert.equal(plan?.sku?.tier, 'FlexConsumption');
    const [site] = ofType('Microsoft.Web/sites');
    const config = site?.properties?.functionAppConfig as { runtime: { name: string; version: string }; deployment: { storage: { authentication: { type: string } } } };
    assert.deepEqual(config.runtime, { name: 'node', version: '22' });
    assert.equal(config.deployment.storage.authentication.type, 'UserAssignedIdentity');
    const [vault] = ofType('Microsoft.KeyVault/vaults');
    assert.equal(vault?.properties?.enableRbacAuthorization, true);
    const [insights] = ofType('Microsoft.Insights/components');
    assert.equal(insights?.properties?.DisableLocalAuth, true);
  });

  it('alerts through an action group with the alertEmail parameter on poison queues, lag p95, failure rate, exceptions and auto-disable', () => {
    const [group] = ofType('Microsoft.Insights/actionGroups');
    assert.match(JSON.stringify(group?.properties?.emailReceivers), /parameters\('alertEmail'\)/);
    const rules = ofType('Microsoft.Insights/scheduledQueryRules');
    assert.equal(rules.length, 1, 'one rule resource, looped over the rules');
    const defined = alertRules();
    assert.deepEqual(
      defined.map((rule) => rule.name),
      ['poison-queue-not-empty', 'event-lag-p95', 'delivery-failure-rate', 'function-exceptions', 'webhook-auto-disabled'],
    );
    const byName = new Map(defined.map((rule) => [rule.name, rule]));
    assert.deepEqual(metricNamesIn(byName.get('poison-queue-not-empty')?.query ?? ''), [METRIC_NAMES.poisonQueueLength]);
    assert.deepEqual(metricNamesIn(byName.get('event-lag-p95')?.query ?? ''), [METRIC_NAMES.eventLag]);
    assert.ok(byName.get('event-lag-p95')?.query.includes(`'${LAG_SAMPLE_ATTRIBUTE}'`), 'the lag alert reads the per-event sample the code emits');
    assert.equal(byName.get('event-lag-p95')?.threshold, 60000);
    assert.deepEqual(metricNamesIn(byName.get('delivery-failure-rate')?.query ?? ''), [METRIC_NAMES.deliveries]);
    assert.equal(byName.get('delivery-failure-rate')?.threshold, 20);
    assert.equal(byName.get('delivery-failure-rate')?.windowSize, 'PT15M');
    assert.match(byName.get('function-exceptions')?.query ?? '', /^\s*exceptions\b/);
    assert.deepEqual(metricNamesIn(byName.get('webhook-auto-disabled')?.query ?? ''), [METRIC_NAMES.autoDisabled]);
  });

  it('queries, in alerts and the workbook, only metric names the code emits', () => {
    const emitted: string[] = Object.values(METRIC_NAMES);
    const [workbook] = ofType('Microsoft.Insights/workbooks');
    assert.equal(workbook?.properties?.sourceId !== undefined && workbook.properties.serializedData !== undefined, true, 'a workbook on Application Insights');
    const workbookQueries = (JSON.parse(workbookText()) as { items: { content: { query?: string } }[] }).items
      .map((item) => item.content.query)
      .filter((query): query is string => query !== undefined);
    assert.equal(workbookQueries.length, 4, 'deliveries/s by outcome, lag p50/p95, top failing webhooks, poisoned messages');
    for (const query of [...alertRules().map((rule) => rule.query), ...workbookQueries]) {
      for (const name of metricNamesIn(query)) assert.ok(emitted.includes(name), `infra/ queries ${name}, which the code does not emit (${query})`);
    }
  });

  it('wires Azure ML through Event Grid only when a workspace is given: identity delivery to the queue, dead-lettering, two narrow roles', () => {
    const modules = ofType('Microsoft.Resources/deployments').filter((module) => module.name.startsWith('azureml-'));
    assert.deepEqual(modules.map((module) => module.name).sort(), ['azureml-delivery', 'azureml-subscription', 'azureml-topic']);
    for (const module of modules) assert.match(String((module as ArmResource & { condition?: string }).condition), /variables\('azureMlEnabled'\)/, `${module.name} is off by default`);
    const [topic] = ofType('Microsoft.EventGrid/systemTopics') as (ArmResource & { identity?: { type: string } })[];
    assert.equal(topic?.identity?.type, 'SystemAssigned');
    assert.equal(topic?.properties?.topicType, 'Microsoft.MachineLearningServices.Workspaces');
    const [subscription] = ofType('Microsoft.EventGrid/systemTopics/eventSubscriptions');
    const properties = subscription?.properties as {
      filter: { includedEventTypes: string[] };
      deliveryWithResourceIdentity: { identity: { type: string }; destination: { endpointType: string } };
      deadLetterWithResourceIdentity: { identity: { type: string }; deadLetterDestination: { endpointType: string } };
      retryPolicy: { maxDeliveryAttempts: number };
    };
    assert.deepEqual(properties.filter.includedEventTypes, ['Microsoft.MachineLearningServices.ModelRegistered']);
    assert.deepEqual([properties.deliveryWithResourceIdentity.identity.type, properties.deliveryWithResourceIdentity.destination.endpointType], ['SystemAssigned', 'StorageQueue']);
    assert.deepEqual([properties.deadLetterWithResourceIdentity.identity.type, properties.deadLetterWithResourceIdentity.deadLetterDestination.endpointType], ['SystemAssigned', 'StorageBlob']);
    assert.ok(properties.retryPolicy.maxDeliveryAttempts > 1);
    const main = compileBicep('infra/main.bicep') as unknown as { variables: Record<string, unknown> };
    assert.ok(ALL_QUEUES.includes(String(main.variables.azureMlQueueName)), 'the queue Event Grid writes to is one the code reads');
    const delivery = resources.find(({ resource }) => resource.name === 'azureml-delivery')?.resource.properties?.template;
    const roles = (delivery?.resources ?? []).filter((resource) => resource.type === 'Microsoft.Authorization/roleAssignments');
    assert.deepEqual(
      roles.map((role) => /roleDefinitions', '([0-9a-f-]+)'/.exec(JSON.stringify(role.properties))?.[1] ?? /storage\w+/.exec(JSON.stringify(role.properties))?.[0]).sort(),
      ['storageBlobDataContributor', 'storageQueueDataMessageSender'],
      'queue sender on the queue and blob contributor on the dead-letter container, nothing more',
    );
  });

  it('assigns roles with deterministic guid() names', () => {
    const assignments = ofType('Microsoft.Authorization/roleAssignments');
    assert.ok(assignments.length >= 3);
    for (const assignment of assignments) assert.match(assignment.name, /^\[guid\(/);
  });

  it('fails the check on a linter warning (bicep itself exits 0 on warnings)', () => {
    const copy = mkdtempSync(join(tmpdir(), 'infra-'));
    cpSync('infra', copy, { recursive: true });
    copyFileSync('infra/app/identity.bicep', join(copy, 'app/identity.bicep'));
    appendFileSync(join(copy, 'app/identity.bicep'), "\nparam unusedForTheTest string = 'x'\n");
    const lint = runBicep(['lint', join(copy, 'main.bicep')]);
    assert.equal(lint.ok, false);
    assert.match(lint.diagnostics.join('\n'), /no-unused-params/);
  });
});
