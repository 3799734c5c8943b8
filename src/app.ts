import { app } from '@azure/functions';
import { functionTable, QUEUE_CONNECTION, registeredRoute, type FunctionDefinition } from './functions/function-table.js';
import { getAppServices } from './composition/services.js';

/**
 * Registers every function of the table with the Functions host. Nothing here reads a setting or may throw:
 * if this module throws at import, the worker registers nothing and the host runs with zero functions
 * (health included). A setting problem is answered by each function instead (503 naming the setting).
 */
function register(fn: FunctionDefinition): void {
  switch (fn.kind) {
    case 'http':
      app.http(fn.name, { route: registeredRoute(fn), methods: fn.methods, authLevel: 'anonymous', handler: fn.handler });
      return;
    case 'queue':
      app.storageQueue(fn.name, { queueName: fn.queueName, connection: QUEUE_CONNECTION, handler: fn.handler });
      return;
    case 'timer':
      app.timer(fn.name, { schedule: fn.schedule, handler: fn.handler });
      return;
  }
}

for (const fn of functionTable(getAppServices)) register(fn);
