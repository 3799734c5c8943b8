import functionsLibrary from '@azure/functions';

/**
 * The classes of @azure/functions that the host builds for each invocation. The package is a CommonJS bundle
 * whose class exports Node's ESM loader cannot see by name, so they are read off the default export.
 */
export const { HttpRequest, HttpResponse, InvocationContext } = functionsLibrary;
