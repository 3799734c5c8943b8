import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { parseStorageSettings } from '../../src/config/config.js';
import { azuriteConnectionString, createStorageClients, credentialFor, expandConnectionString } from '../../src/storage/azure-clients.js';

describe('the one Azure client factory', () => {
  it('builds Azurite clients from a connection string, UseDevelopmentStorage included', () => {
    const clients = createStorageClients(parseStorageSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }));
    assert.deepEqual([clients.table('webhooks').url, clients.table('webhooks').tableName], ['http://127.0.0.1:10002/devstoreaccount1', 'webhooks']);
    assert.equal(clients.queue('registry-events').url, 'http://127.0.0.1:10001/devstoreaccount1/registry-events');
    assert.equal(expandConnectionString('UseDevelopmentStorage=true'), azuriteConnectionString());
  });

  it('builds identity-based clients from the service URIs of AzureWebJobsStorage__*', () => {
    const clients = createStorageClients(
      parseStorageSettings({
        AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net/',
        AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net/',
        AzureWebJobsStorage__credential: 'managedidentity',
        AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000001',
      }),
    );
    assert.deepEqual([clients.table('webhooks').url, clients.table('webhooks').tableName], ['https://acct.table.core.windows.net/', 'webhooks']);
    assert.equal(clients.queue('registry-events').url, 'https://acct.queue.core.windows.net/registry-events');
  });

  it('uses the user-assigned managed identity when told, DefaultAzureCredential otherwise', () => {
    assert.ok(credentialFor({ credential: 'managedidentity', clientId: '00000000-0000-0000-0000-000000000001' }) instanceof ManagedIdentityCredential);
    assert.ok(credentialFor({ credential: 'ManagedIdentity' }) instanceof ManagedIdentityCredential);
    assert.ok(credentialFor({}) instanceof DefaultAzureCredential);
  });
});
