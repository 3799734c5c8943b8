import type { FunctionResult, HttpHandler, InvocationContext } from '@azure/functions';
import { ConfigError } from '../shared/errors.js';
import { errorResponse, logSettingsError, settingsUnavailable, type ServicesProvider } from './http-endpoint.js';

/** The settings problem behind a failure to build the services, if that is what it was. */
async function settingsProblem(services: ServicesProvider): Promise<ConfigError | undefined> {
  try {
    await services();
    return undefined;
  } catch (error) {
    // Anything else (storage unreachable, say) is the handler's to answer, as without the guard.
    return error instanceof ConfigError ? error : undefined;
  }
}

/**
 * An HTTP function whose services cannot be built from the settings answers 503 naming the setting, before
 * its own handler runs: registration never depends on the settings, and no handler needs to handle it.
 */
export function guardHttp(services: ServicesProvider, handler: HttpHandler): HttpHandler {
  return async (request, context) => {
    const problem = await settingsProblem(services);
    if (!problem) return handler(request, context);
    logSettingsError(context, problem);
    return errorResponse(settingsUnavailable(problem));
  };
}

/**
 * A non-HTTP trigger whose services cannot be built logs the setting and throws, so its message is retried and then
 * poisoned with its text, to be moved back once fixed; completing it would lose it.
 */
export function guardTrigger<I>(services: ServicesProvider, handler: (input: I, context: InvocationContext) => FunctionResult): (input: I, context: InvocationContext) => Promise<unknown> {
  return async (input, context) => {
    const problem = await settingsProblem(services);
    if (!problem) return handler(input, context);
    logSettingsError(context, problem);
    throw problem;
  };
}
