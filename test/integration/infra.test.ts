import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, cpSync, appendFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { AZURE_APP_SETTINGS } from '../../src/config/config.js';
import { LAG_SAMPLE_ATTRIBUTE, METRIC_NAMES } from '../../src/telemetry/metrics.js';
import { ALL_QUEUES, ALL_TABLES } from '../../src/storage/names.js';
import { parse as parseYaml } from 'yaml';
import { compileBicep, runBicep } from '../../scripts/bicep.js';
import { ArmFail, evaluate, parameterValues, type ArmScope } from '../support/arm-expressions.js';

interface ArmResource {
  type: string;
  name: string;
  condition?: string;
  scope?: string;
  tags?: unknown;
  dependsOn?: string[];
  properties?: Record<string, unknown> & { template?: ArmTemplate; parameters?: Record<string, unknown> };
  copy?: { count: string };
}
interface ArmTemplate {
  resources: ArmResource[];
  parameters?: Record<string, { defaultValue?: unknown }>;
  variables?: Record<string, unknown>;
}

/**
 * Built-in role definitions, pinned to the dataActions Azure lists for them (the built-in roles reference for
 * Storage, Security and Monitor). Their ids are the same in every cloud; the compiled template shows only the id.
 */
const BUILT_IN_ROLES: Record<string, { name: string; dataActions: string[] }> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': { name: 'Storage Blob Data Owner', dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*'] },
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': {
    name: 'Storage Queue Data Contributor',
    dataActions: [
      'Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete',
      'Microsoft.Storage/storageAccounts/queueServices/queues/messages/read',
      'Microsoft.Storage/storageAccounts/queueServices/queues/messages/write',
      'Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action',
    ],
  },
  '19e7f393-937e-4f77-808e-94535e297925': { name: 'Storage Queue Data Reader', dataActions: ['Microsoft.Storage/storageAccounts/queueServices/queues/messages/read'] },
  '8a0f0c08-91a1-4084-bc3d-661d67233fed': {
    name: 'Storage Queue Data Message Processor',
    dataActions: ['Microsoft.Storage/storageAccounts/queueServices/queues/messages/read', 'Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action'],
  },
  'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a': { name: 'Storage Queue Data Message Sender', dataActions: ['Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action'] },
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': {
    name: 'Storage Table Data Contributor',
    dataActions: [
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/read',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/write',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/delete',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action',
    ],
  },
  '4633458b-17de-408a-b874-0445c86b69e6': { name: 'Key Vault Secrets User', dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action', 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'] },
  '3913510d-42f4-4e42-8a64-420c390055eb': { name: 'Monitoring Metrics Publisher', dataActions: ['Microsoft.Insights/Metrics/Write', 'Microsoft.Insights/Telemetry/Write'] },
};

/** Whether a role's dataActions (which may end in a wildcard) grant an action. */
const grants = (dataActions: readonly string[], action: string) => dataActions.some((granted) => granted === action || (granted.endsWith('/*') && action.startsWith(granted.slice(0, -1))));

interface Module {
  template: ArmTemplate;
  scope: ArmScope;
  /** The module's `condition`, evaluated. */
  deployed: boolean;
  /** Its parameter values, as the main template passes them. */
  raw: Record<string, unknown>;
}

/** What main.json does with the given parameters: each module's template and its parameter values. */
function deployment(main: ArmTemplate, given: Record<string, unknown>): { scope: ArmScope; modules: Map<string, Module> } {
  const scope: ArmScope = { parameters: parameterValues(main, { environmentName: 'wh-test', location: 'swedencentral', ...given }), variables: main.variables ?? {} };
  const modules = new Map<string, Module>();
  for (const resource of main.resources.filter((candidate) => candidate.type === 'Microsoft.Resources/deployments')) {
    const template = resource.properties?.template as ArmTemplate;
    const passed: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(resource.properties?.parameters ?? {})) passed[name] = (evaluate(entry, scope) as { value: unknown }).value;
    modules.set(resource.name, {
      template,
      scope: { parameters: parameterValues(template, passed), variables: template.variables ?? {} },
      deployed: resource.condition === undefined || evaluate(resource.condition, scope) === true,
      raw: resource.properties?.parameters ?? {},
    });
  }
  return { scope, modules };
}

const mod = (deployed: { modules: Map<string, Module> }, name: string): Module => {
  const found = deployed.modules.get(name);
  assert.ok(found, `module ${name}`);
  return found;
};

/** The resources of a module's template of one type, with their properties evaluated in the module's scope. */
function evaluated(module: Module, type: string): { name: string; deployed: boolean; properties: Record<string, unknown>; tags: unknown }[] {
  return module.template.resources
    .filter((resource) => resource.type === type)
    .map((resource) => ({
      name: resource.name,
      deployed: resource.condition === undefined || evaluate(resource.condition, module.scope) === true,
      properties: evaluate(resource.properties ?? {}, module.scope) as Record<string, unknown>,
      tags: evaluate(resource.tags, module.scope),
    }));
}

/** The role assignments a module makes, loops unrolled: whose, which role (its GUID), on what. */
function roleAssignments(module: Module): { principal: unknown; role: string; on: string }[] {
  return module.template.resources
    .filter((resource) => resource.type === 'Microsoft.Authorization/roleAssignments')
    .flatMap((resource) => {
      const count = resource.copy ? Number(evaluate(resource.copy.count, module.scope)) : 1;
      return Array.from({ length: count }, (_, index) => {
        const scope = { ...module.scope, copyIndex: index };
        if (resource.condition !== undefined && evaluate(resource.condition, scope) !== true) return undefined;
        const properties = resource.properties as { principalId: string; roleDefinitionId: string };
        const roleId = String(evaluate(properties.roleDefinitionId, scope));
        return { principal: evaluate(properties.principalId, scope), role: roleId.split('/').pop() ?? roleId, on: resource.scope ?? '' };
      }).filter((assignment) => assignment !== undefined);
    });
}

/** The secret name a Key Vault secret resource or reference names. */
const secretOfResource = (name: string) => /'([\w-]+)'\)\]$/.exec(name)?.[1] ?? name;
const referencedSecrets = (settings: Record<string, unknown>) =>
  Object.values(settings)
    .map((value) => (typeof value === 'string' ? /^@Microsoft\.KeyVault\(.*SecretName=([\w-]+)\)$/.exec(value)?.[1] : undefined))
    .filter((name): name is string => name !== undefined);

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
  let main: ArmTemplate;
  let resources: { resource: ArmResource; template: ArmTemplate }[];
  const ofType = (type: string) => resources.filter(({ resource }) => resource.type === type).map(({ resource }) => resource);

  before(() => {
    main = compileBicep('infra/main.bicep') as unknown as ArmTemplate;
    resources = allResources(main);
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

  it("gives the app's identity every data right it needs, queues/messages/write (Update Message) included", () => {
    const deployed = deployment(main, {});
    const rbac = mod(deployed, 'rbac');
    // The app identity is the one the identity module made: rbac's principalId is that module's output.
    assert.match(JSON.stringify(rbac.raw.principalId), /'identity'.*outputs\.principalId/);
    const app = roleAssignments(rbac).filter((assignment) => assignment.principal === rbac.scope.parameters.principalId);
    const dataActionsOn = (resourceType: string) =>
      app
        .filter((assignment) => assignment.on.includes(resourceType))
        .flatMap((assignment) => {
          const role = BUILT_IN_ROLES[assignment.role];
          assert.ok(role, `role ${assignment.role} is not pinned in the test data`);
          return role.dataActions;
        });
    const storage = dataActionsOn('Microsoft.Storage/storageAccounts');
    const queue = 'Microsoft.Storage/storageAccounts/queueServices/queues/messages';
    for (const action of [`${queue}/write`, `${queue}/read`, `${queue}/process/action`, `${queue}/delete`]) assert.ok(grants(storage, action), `the app cannot ${action}`);
    assert.ok(grants(storage, `${queue}/add/action`) || grants(storage, `${queue}/write`), 'the app cannot add queue messages');
    for (const action of ['read', 'write', 'delete']) assert.ok(grants(storage, `Microsoft.Storage/storageAccounts/tableServices/tables/entities/${action}`), `tables: ${action}`);
    for (const action of ['read', 'write', 'delete']) assert.ok(grants(storage, `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/${action}`), `blobs: ${action}`);
    assert.ok(grants(dataActionsOn('Microsoft.KeyVault/vaults'), 'Microsoft.KeyVault/vaults/secrets/getSecret/action'), 'Key Vault references cannot resolve');
    assert.ok(grants(dataActionsOn('Microsoft.Insights/components'), 'Microsoft.Insights/Telemetry/Write'), 'no telemetry');
    // Role propagation: the app (and so its first Key Vault resolution) comes after the assignments.
    const api = main.resources.find((resource) => resource.name === 'api');
    assert.ok(api?.dependsOn?.some((dependency) => dependency.includes("'rbac'")), 'the app must be deployed after its role assignments');
    // Key Vault references resolve with that identity.
    const [site] = evaluated(mod(deployed, 'api'), 'Microsoft.Web/sites');
    assert.equal(site?.properties.keyVaultReferenceIdentity, mod(deployed, 'api').scope.parameters.identityId);
  });

  it('creates a delivery identity for Entra tokens to webhooks that holds no role and is not the app identity', () => {
    const deployed = deployment(main, { principalId: '00000000-0000-0000-0000-00000000abcd', entraAudiences: 'api://orders https://orders.contoso.com' });
    assert.ok(mod(deployed, 'delivery-identity').deployed);
    const api = mod(deployed, 'api');
    assert.match(JSON.stringify(api.raw.deliveryIdentityClientId), /'delivery-identity'.*outputs\.clientId/);
    assert.match(JSON.stringify(api.raw.identityClientId), /'identity'\)?.*outputs\.clientId/);
    const everything = JSON.stringify(main);
    const assignments = allResources(main).filter(({ resource }) => resource.type === 'Microsoft.Authorization/roleAssignments');
    assert.ok(assignments.length > 0);
    for (const { resource } of assignments) assert.ok(!JSON.stringify(resource).includes('delivery'), `a role assignment mentions the delivery identity: ${resource.name}`);
    for (const module of ['rbac', 'azureml-delivery', 'azureml-subscription', 'keyvault']) {
      const found = deployed.modules.get(module);
      if (found) assert.ok(!JSON.stringify(found.raw).includes('delivery-identity'), `${module} is given the delivery identity`);
    }
    assert.ok(everything.includes('delivery-identity'));
    const [settings] = evaluated(api, 'Microsoft.Web/sites/config').filter((resource) => resource.name.includes('appsettings'));
    assert.equal(settings?.properties.WEBHOOKS_ENTRA_AUDIENCES, 'api://orders https://orders.contoso.com');
    assert.equal(settings?.properties.WEBHOOKS_ENTRA_CLIENT_ID, api.scope.parameters.deliveryIdentityClientId);
    assert.notEqual(settings?.properties.WEBHOOKS_ENTRA_CLIENT_ID, settings?.properties.AZURE_CLIENT_ID);
  });

  it('gives the deployer (principalId) queue-send and table rights only when one is given', () => {
    const rbacOf = (principalId: string) => mod(deployment(main, { principalId }), 'rbac');
    assert.deepEqual(
      roleAssignments(rbacOf('')).filter((assignment) => assignment.principal === ''),
      [],
    );
    const someone = '00000000-0000-0000-0000-00000000abcd';
    const roles = roleAssignments(rbacOf(someone))
      .filter((assignment) => assignment.principal === someone)
      .map((assignment) => BUILT_IN_ROLES[assignment.role]?.name)
      .sort();
    assert.deepEqual(roles, ['Storage Queue Data Message Sender', 'Storage Table Data Contributor']);
  });

  it('no use* flag references a Key Vault secret that the deployment does not write, and no written secret goes unread', () => {
    const pairs = [
      { flag: 'usePreviousSecretKey', secret: 'webhooksSecretKeyPrevious', value: 'b2xkLWtleQ==', name: 'webhooks-secret-key-previous' },
      { flag: 'useStaticTokens', secret: 'webhooksAuthTokens', value: 'admin:0123456789abcdef0123', name: 'webhooks-auth-tokens' },
      { flag: 'useMlflowIngest', secret: 'mlflowWebhookSecrets', value: 'mlflow-secret-0123456789', name: 'mlflow-webhook-secrets' },
    ];
    // Every combination of each flag on or off and its secret given or not.
    for (let combination = 0; combination < 4 ** pairs.length; combination += 1) {
      const given: Record<string, unknown> = {};
      pairs.forEach((pair, index) => {
        const bits = Math.floor(combination / 4 ** index) % 4;
        given[pair.flag] = bits % 2 === 1;
        given[pair.secret] = bits >= 2 ? pair.value : '';
      });
      const consistent = pairs.every((pair) => given[pair.flag] === (given[pair.secret] !== ''));
      let deployed: ReturnType<typeof deployment>;
      try {
        deployed = deployment(main, given);
      } catch (error) {
        assert.ok(error instanceof ArmFail, String(error));
        assert.equal(consistent, false, `refused ${JSON.stringify(given)}: ${error.message}`);
        continue;
      }
      assert.equal(consistent, true, `accepted ${JSON.stringify(given)}`);
      const [settings] = evaluated(mod(deployed, 'api'), 'Microsoft.Web/sites/config');
      const referenced = referencedSecrets(settings?.properties ?? {});
      const vault = mod(deployed, 'keyvault');
      const written = vault.template.resources
        .filter((resource) => resource.type === 'Microsoft.KeyVault/vaults/secrets')
        .filter((resource) => resource.condition === undefined || evaluate(resource.condition, vault.scope) === true)
        .map((resource) => secretOfResource(resource.name));
      for (const { name } of pairs) assert.equal(referenced.includes(name), written.includes(name), `${name} with ${JSON.stringify(given)}`);
      // The main key is always referenced; written when given (the first deployment), kept otherwise. Until it
      // resolves, every function answers 503 naming WEBHOOKS_SECRET_KEY (test/integration/package.test.ts).
      assert.ok(referenced.includes('webhooks-secret-key'));
      assert.deepEqual(referenced.filter((name) => name !== 'webhooks-secret-key' && !pairs.some((pair) => pair.name === name)), [], 'a Key Vault reference this test does not know');
    }
  });

  it('turns off SCM and FTP basic publishing credentials', () => {
    const policies = evaluated(mod(deployment(main, {}), 'api'), 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    assert.deepEqual(policies.map((policy) => [secretOfResource(policy.name), policy.properties.allow]).sort(), [
      ['ftp', false],
      ['scm', false],
    ]);
  });

  it('carries the azd tags: azd-env-name on the resource group and resources, azd-service-name api on the app', () => {
    const deployed = deployment(main, { environmentName: 'wh-tags' });
    const group = main.resources.find((resource) => resource.type === 'Microsoft.Resources/resourceGroups');
    assert.deepEqual(evaluate(group?.tags, deployed.scope), { 'azd-env-name': 'wh-tags' });
    const [site] = evaluated(mod(deployed, 'api'), 'Microsoft.Web/sites');
    assert.deepEqual(site?.tags, { 'azd-env-name': 'wh-tags', 'azd-service-name': 'api' });
    for (const [name, module] of deployed.modules) {
      if ('tags' in module.scope.parameters) assert.deepEqual(module.scope.parameters.tags, { 'azd-env-name': 'wh-tags' }, name);
    }
  });

  it('recovers the soft-deleted vault only when asked (keyVaultCreateMode), with purge protection on', () => {
    for (const mode of ['default', 'recover']) {
      const [vault] = evaluated(mod(deployment(main, { keyVaultCreateMode: mode }), 'keyvault'), 'Microsoft.KeyVault/vaults');
      assert.deepEqual({ createMode: vault?.properties.createMode, purgeProtection: vault?.properties.enablePurgeProtection }, { createMode: mode, purgeProtection: true });
    }
  });

  it('sizes instances and always-ready HTTP instances from the parameters', () => {
    const scale = (given: Record<string, unknown>) => {
      const [site] = evaluated(mod(deployment(main, given), 'api'), 'Microsoft.Web/sites');
      return (site?.properties.functionAppConfig as { scaleAndConcurrency: unknown }).scaleAndConcurrency;
    };
    assert.deepEqual(scale({}), { maximumInstanceCount: 100, instanceMemoryMB: 2048, alwaysReady: [] });
    assert.deepEqual(scale({ instanceMemoryMB: 4096, alwaysReadyHttpInstances: 2 }), { maximumInstanceCount: 100, instanceMemoryMB: 4096, alwaysReady: [{ name: 'http', instanceCount: 2 }] });
  });

  it('hardens the network and adds diagnostic settings only when asked', () => {
    for (const on of [false, true]) {
      const deployed = deployment(main, { vnetEnabled: on, diagnosticsEnabled: on });
      const [account] = evaluated(mod(deployed, 'storage'), 'Microsoft.Storage/storageAccounts');
      assert.equal(account?.properties.publicNetworkAccess, on ? 'Disabled' : 'Enabled');
      assert.equal((account?.properties.networkAcls as { defaultAction: string }).defaultAction, on ? 'Deny' : 'Allow');
      assert.equal(mod(deployed, 'network').deployed, on);
      assert.equal(mod(deployed, 'diagnostics').deployed, on);
      const [site] = evaluated(mod(deployed, 'api'), 'Microsoft.Web/sites');
      assert.equal(site?.properties.virtualNetworkSubnetId === null, !on);
    }
    const network = mod(deployment(main, { vnetEnabled: true }), 'network');
    const endpoints = network.template.resources.find((resource) => resource.type === 'Microsoft.Network/privateEndpoints');
    assert.deepEqual(evaluate(network.template.variables?.storageServices, network.scope), ['blob', 'queue', 'table']);
    assert.ok(endpoints?.copy, 'one private endpoint per storage service');
    const categories = mod(deployment(main, { diagnosticsEnabled: true }), 'diagnostics')
      .template.resources.flatMap((resource) => ((resource.properties?.logs ?? []) as { category: string }[]).map((log) => log.category))
      .sort();
    assert.deepEqual(categories, ['AuditEvent', 'FunctionAppLogs']);
  });

  it('with vnetEnabled, every outbound connection leaves through a NAT gateway with one static public IP, which main outputs', () => {
    const deployed = deployment(main, { vnetEnabled: true });
    const network = mod(deployed, 'network');
    const [ip] = evaluated(network, 'Microsoft.Network/publicIPAddresses');
    assert.deepEqual({ allocation: ip?.properties.publicIPAllocationMethod, version: ip?.properties.publicIPAddressVersion }, { allocation: 'Static', version: 'IPv4' });
    const nat: (ArmResource & { sku?: { name: string } }) | undefined = network.template.resources.find((resource) => resource.type === 'Microsoft.Network/natGateways');
    assert.equal(nat?.sku?.name, 'Standard', 'a NAT gateway');
    assert.match(JSON.stringify(nat?.properties?.publicIpAddresses), /Microsoft\.Network\/publicIPAddresses/, 'the NAT gateway uses the static IP');
    const vnet = network.template.resources.find((resource) => resource.type === 'Microsoft.Network/virtualNetworks');
    const subnets = (vnet?.properties?.subnets ?? []) as { name: string; properties: { natGateway?: { id: string }; delegations?: unknown[] } }[];
    const appSubnet = subnets.find((subnet) => subnet.properties.delegations?.length);
    assert.match(JSON.stringify(appSubnet?.properties.natGateway), /Microsoft\.Network\/natGateways/, "the app's subnet goes out through the NAT gateway");
    assert.equal(subnets.filter((subnet) => subnet.properties.natGateway).length, 1, 'only the app subnet');
    // The subnet id is the network module's output, known only at deployment: the flag follows it.
    const siteTemplate = mod(deployed, 'api').template.resources.find((resource) => resource.type === 'Microsoft.Web/sites');
    assert.equal(siteTemplate?.properties?.vnetRouteAllEnabled, "[not(empty(parameters('virtualNetworkSubnetId')))]", 'all outbound traffic is routed into the VNet');
    assert.equal(evaluate(siteTemplate?.properties?.vnetRouteAllEnabled, { ...mod(deployed, 'api').scope, parameters: { ...mod(deployed, 'api').scope.parameters, virtualNetworkSubnetId: '/subnets/app' } }), true);
    const [plainSite] = evaluated(mod(deployment(main, {}), 'api'), 'Microsoft.Web/sites');
    assert.equal(plainSite?.properties.vnetRouteAllEnabled, false);
    const output = (main as ArmTemplate & { outputs?: Record<string, { value: string }> }).outputs?.EGRESS_IP?.value ?? '';
    assert.match(output, /parameters\('vnetEnabled'\)/);
    assert.match(output, /'network'.*outputs.*egressIp/, 'main outputs the egress IP for the README\'s "allowlist this address"');
  });

  it('with vnetEnabled and the Azure ML source, Event Grid still reaches the queue: its managed identity through the trusted-services exception', () => {
    const workspace = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml/providers/Microsoft.MachineLearningServices/workspaces/ws';
    const account = (given: Record<string, unknown>) => evaluated(mod(deployment(main, given), 'storage'), 'Microsoft.Storage/storageAccounts')[0]?.properties;
    const both = account({ vnetEnabled: true, azureMlWorkspaceId: workspace });
    assert.deepEqual(
      { access: both?.publicNetworkAccess, acls: both?.networkAcls },
      { access: 'Enabled', acls: { defaultAction: 'Deny', bypass: 'AzureServices' } },
      'public endpoint on but denying all, save trusted Azure services',
    );
    const vnetOnly = account({ vnetEnabled: true });
    assert.deepEqual({ access: vnetOnly?.publicNetworkAccess, acls: vnetOnly?.networkAcls }, { access: 'Disabled', acls: { defaultAction: 'Deny', bypass: 'None' } });
    const deployed = deployment(main, { vnetEnabled: true, azureMlWorkspaceId: workspace });
    for (const name of ['azureml-topic', 'azureml-delivery', 'azureml-subscription', 'network']) assert.equal(mod(deployed, name).deployed, true, name);
    // The trusted-services exception admits Event Grid only as a managed identity holding a data role on the target.
    const [subscription] = evaluated(mod(deployed, 'azureml-subscription'), 'Microsoft.EventGrid/systemTopics/eventSubscriptions');
    const delivery = subscription?.properties.deliveryWithResourceIdentity as { identity: { type: string }; destination: { endpointType: string } };
    assert.deepEqual([delivery.identity.type, delivery.destination.endpointType], ['SystemAssigned', 'StorageQueue']);
    assert.equal(subscription?.properties.destination, undefined, 'no key-based delivery');
    const senders = mod(deployed, 'azureml-delivery').template.resources.filter((resource) => resource.type === 'Microsoft.Authorization/roleAssignments' && JSON.stringify(resource.properties).includes('storageQueueDataMessageSender'));
    assert.equal(senders.length, 1, "the topic's identity holds Storage Queue Data Message Sender on the queue");
    assert.match(JSON.stringify(mod(deployed, 'azureml-delivery').raw.topicPrincipalId), /'azureml-topic'.*'outputs', 'principalId'/, "granted to the topic's own identity");
  });

  it('azure.yaml provisions infra/main.bicep and deploys the package as the function app service api', () => {
    const azd = parseYaml(readFileSync('azure.yaml', 'utf8')) as {
      infra: { provider: string; path: string; module: string };
      services: Record<string, { project: string; language: string; host: string; dist?: string; remoteBuild?: unknown }>;
    };
    assert.equal(azd.infra.provider, 'bicep');
    assert.ok(existsSync(join(azd.infra.path, `${azd.infra.module}.bicep`)), 'the infra module azure.yaml names');
    assert.ok(existsSync(join(azd.infra.path, `${azd.infra.module}.parameters.json`)), 'the parameters file azd reads');
    const api = azd.services.api;
    assert.deepEqual({ language: api?.language, host: api?.host }, { language: 'js', host: 'function' });
    assert.ok(api && existsSync(join(api.project, 'package.json')), 'the service project');
    // azd deploys the folder npm run package writes.
    assert.equal(api.dist, '.package/app');
    // Without it, azd before 1.23.12 builds a JavaScript Flex app remotely, where npm run build fails on the package.
    assert.equal(api.remoteBuild, false, 'azure.yaml sets remoteBuild: false on the api service');
  });

  it('infra/main.parameters.json passes only main.bicep parameters, every required one, with the same defaults', () => {
    const file = JSON.parse(readFileSync('infra/main.parameters.json', 'utf8')) as { parameters: Record<string, { value: unknown }> };
    const declared = main.parameters ?? {};
    for (const name of Object.keys(file.parameters)) assert.ok(name in declared, `main.parameters.json passes ${name}, which main.bicep does not declare`);
    for (const [name, definition] of Object.entries(declared)) {
      if (!('defaultValue' in definition)) assert.ok(name in file.parameters, `main.bicep needs ${name}; main.parameters.json does not pass it`);
    }
    assert.deepEqual(
      ['environmentName', 'location', 'principalId'].map((name) => file.parameters[name]?.value),
      ['${AZURE_ENV_NAME}', '${AZURE_LOCATION}', '${AZURE_PRINCIPAL_ID}'],
    );
    // A ${VAR=default} gives azd the template's own default, so azd and a plain az deployment agree.
    for (const [name, { value }] of Object.entries(file.parameters)) {
      const fallback = /^\$\{\w+=(.*)\}$/.exec(String(value))?.[1];
      if (fallback !== undefined) assert.equal(fallback, String(declared[name]?.defaultValue), name);
      else assert.match(String(value), /^\$\{\w+\}$/, name);
    }
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
