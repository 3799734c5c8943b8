import { app } from '@azure/functions';
import { loadConfig } from './config.js';
import { functionTable, QUEUE_CONNECTION } from './function-table.js';
import { getAppServices } from './services.js';

// Refuse to start without valid settings (a missing WEBHOOKS_SECRET_KEY above all): the host logs the reason.
loadConfig();

for (const fn of functionTable(getAppServices)) {
  if (fn.kind === 'http') {
    app.http(fn.name, { route: fn.route, methods: fn.methods, authLevel: 'anonymous', handler: fn.handler });
  } else {
    app.storageQueue(fn.name, { queueName: fn.queueName, connection: QUEUE_CONNECTION, handler: fn.handler });
  }
}
