import Module, { createRequire } from 'node:module';
import type { InvocationContext } from '@azure/functions';

/**
 * A stand-in for `@azure/functions-core`, the worker's module, so that app.ts registers and is invoked through
 * @azure/functions' own conversions exactly as in Azure.
 */

/** Typed data as the host sends it over gRPC (the subset the local runtime uses). */
export type RpcTypedData =
  | { string: string }
  | { json: string }
  | { bytes: Uint8Array }
  | { int: number }
  | { http: RpcHttpData };

export interface RpcHttpData {
  method: string;
  url: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  params: Record<string, string>;
  body?: { bytes: Uint8Array };
  /** Not part of the host's data: the library's HttpRequest uses it as is, so the body can stay a stream. */
  nativeRequest?: Request;
}

export interface RpcHttpResponse {
  statusCode?: string;
  headers?: Record<string, string>;
  body?: { bytes?: Uint8Array; string?: string } | null;
}

export interface CoreBinding {
  type: string;
  direction: string;
  route?: string;
  methods?: string[];
  queueName?: string;
  connection?: string;
  schedule?: string;
  /** `binary`: the host hands the trigger's data over as bytes. */
  dataType?: string;
}

export interface CoreFunctionMetadata {
  name: string;
  bindings: Record<string, CoreBinding>;
}

export type CoreHandler = (...args: unknown[]) => unknown;

export interface InvocationRequest {
  inputData: { name: string; data: RpcTypedData }[];
  triggerMetadata: Record<string, RpcTypedData>;
}

interface InvocationModel {
  getArguments(): Promise<{ context: InvocationContext; inputs: unknown[] }>;
  invokeFunction(context: InvocationContext, inputs: unknown[], handler: CoreHandler): Promise<unknown>;
  getResponse(context: InvocationContext, result: unknown): Promise<{ returnValue?: { http?: RpcHttpResponse } | null }>;
}

interface ProgrammingModel {
  getInvocationModel(coreContext: unknown): InvocationModel;
  getCapabilities(workerCapabilities: Record<string, string>): Promise<Record<string, string>>;
}

export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log';
type CoreHook = (coreContext: Record<string, unknown>) => unknown;

export type CoreLog = (level: string, category: string, message: string) => void;

export class RegisteredFunction {
  constructor(
    readonly metadata: CoreFunctionMetadata,
    private readonly handler: CoreHandler,
    private readonly model: () => ProgrammingModel,
  ) {}

  get name(): string {
    return this.metadata.name;
  }

  /** The trigger binding and its name (the library names it; inputs are keyed by that name). */
  get trigger(): { name: string; binding: CoreBinding } {
    const entry = Object.entries(this.metadata.bindings).find(([, binding]) => binding.direction === 'in' && binding.type.endsWith('Trigger'));
    if (!entry) throw new Error(`function ${this.name} has no trigger binding`);
    return { name: entry[0], binding: entry[1] };
  }

  /**
   * Runs one invocation as the worker does: the library turns the host's data into the handler's arguments
   * and its result back into the host's data. A handler that throws rejects, as a failed invocation.
   */
  async invoke(invocationId: string, triggerData: RpcTypedData, triggerMetadata: Record<string, RpcTypedData>, log: CoreLog): Promise<{ http?: RpcHttpResponse } | null | undefined> {
    const request: InvocationRequest = { inputData: [{ name: this.trigger.name, data: triggerData }], triggerMetadata };
    const model = this.model().getInvocationModel({ invocationId, request, metadata: this.metadata, state: 'invocation', log });
    const { context, inputs } = await model.getArguments();
    const result = await model.invokeFunction(context, inputs, this.handler);
    return (await model.getResponse(context, result)).returnValue;
  }
}

export interface WorkerCore {
  readonly functions: RegisteredFunction[];
  /** What the worker tells the host after loading the app (e.g. WorkerOpenTelemetryEnabled); locks app.setup, as there. */
  capabilities(): Promise<Record<string, string>>;
  /** Runs the hooks the app registered under `name` (the worker runs appTerminate when the host shuts it down). */
  runHooks(name: HookName, coreContext?: Record<string, unknown>): Promise<void>;
}

const CORE_PATH = '/virtual/@azure/functions-core.js';
let installed: WorkerCore | undefined;

/** Installs the stand-in for `require('@azure/functions-core')`; call it before the app registers anything. */
export function installWorkerCore(): WorkerCore {
  if (installed) return installed;
  const functions: RegisteredFunction[] = [];
  const hooks = new Map<HookName, CoreHook[]>();
  let programmingModel: ProgrammingModel | undefined;
  const model = (): ProgrammingModel => {
    if (!programmingModel) throw new Error('@azure/functions never set its programming model');
    return programmingModel;
  };
  const internals = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = internals._resolveFilename;
  internals._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
    return request === '@azure/functions-core' ? CORE_PATH : resolve.call(this, request, ...rest);
  };
  const core = new Module(CORE_PATH);
  core.loaded = true;
  core.exports = {
    setProgrammingModel: (value: ProgrammingModel) => (programmingModel = value),
    registerHook: (name: HookName, hook: CoreHook) => {
      hooks.set(name, [...(hooks.get(name) ?? []), hook]);
      return { dispose: () => hooks.set(name, (hooks.get(name) ?? []).filter((registered) => registered !== hook)) };
    },
    registerFunction: (metadata: CoreFunctionMetadata, handler: CoreHandler) => {
      functions.push(new RegisteredFunction(metadata, handler, model));
      return { dispose: () => undefined };
    },
  };
  createRequire(import.meta.url).cache[CORE_PATH] = core;
  installed = {
    functions,
    capabilities: () => model().getCapabilities({}),
    runHooks: async (name, coreContext = {}) => {
      for (const hook of hooks.get(name) ?? []) await hook({ hookData: {}, ...coreContext });
    },
  };
  return installed;
}
