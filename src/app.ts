import * as functions from '@azure/functions';
import { app } from '@azure/functions';
import { functionTable, QUEUE_CONNECTION, registeredRoute, type FunctionDefinition } from './functions/function-table.js';
import { getAppServices } from './composition/app-services.js';
import { enableHostTelemetry, flushTelemetry } from './telemetry/host-telemetry.js';

/** Registers one function with the host. Nothing here reads a setting or throws: a throw at import registers no function. */
function register(fn: FunctionDefinition): void {
  switch (fn.kind) {
    case 'http':
      app.http(fn.name, { route: registeredRoute(fn), methods: fn.methods, authLevel: 'anonymous', handler: fn.handler });
      return;
    case 'queue':
      app.storageQueue(fn.name, { queueName: fn.queueName, connection: QUEUE_CONNECTION, ...(fn.dataType ? { dataType: fn.dataType } : {}), handler: fn.handler });
      return;
    case 'timer':
      app.timer(fn.name, { schedule: fn.schedule, handler: fn.handler });
      return;
  }
}

for (const fn of functionTable(getAppServices)) register(fn);
// An instance scaled in takes with it what the metric readers and log processors still hold, unless flushed here.
app.hook.appTerminate(() => flushTelemetry());
await enableHostTelemetry(functions);
