import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpHandler, HttpRequest, HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import type { ConsoleSignIn } from '../config/config.js';
import { ApiError, ConfigError } from '../shared/errors.js';
import { errorResponse, settingsUnavailable, type ServicesProvider } from './http-endpoint.js';

/** The page's own file, and the one asset that is not a file: the public sign-in configuration. */
export const CONSOLE_PAGE = 'index.html';
export const CONSOLE_CONFIG = 'config.json';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Where `npm run build` puts the console: `dist/console` under the package root (the folder with package.json). */
export function consoleAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return join(dirname(fileURLToPath(import.meta.url)), 'console');
    dir = parent;
  }
  return join(dir, 'dist', 'console');
}

/**
 * `default-src 'self'`; with Entra sign-in, the authority's origin is added to `connect-src` (token calls) and
 * `frame-src` (silent renewal), and nothing else. No inline script or style anywhere.
 */
export function consoleCsp(signIn: ConsoleSignIn | undefined): string {
  const authority = signIn ? ` ${new URL(signIn.authority).origin}` : '';
  return [
    "default-src 'self'",
    ...(signIn ? [`connect-src 'self'${authority}`, `frame-src 'self'${authority}`] : []),
    "base-uri 'none'",
    "object-src 'none'",
    "form-action 'self'",
    "frame-ancestors 'self'",
  ].join('; ');
}

interface Asset {
  body: Buffer;
  etag: string;
}

/** The console's page, assets and sign-in configuration: public and free of data (the page calls the API with a token). */
export function consoleHandler(services: ServicesProvider, assetsDir: string = consoleAssetsDir()): HttpHandler {
  const cache = new Map<string, Asset>();
  const load = async (name: string): Promise<Asset | undefined> => {
    const cached = cache.get(name);
    if (cached) return cached;
    let body: Buffer;
    try {
      body = await readFile(join(assetsDir, name));
    } catch {
      return undefined;
    }
    const asset = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    cache.set(name, asset);
    return asset;
  };

  return async (request) => {
    // Every answer carries the policy, errors included; the strictest one until the settings are read.
    let headers = consoleHeaders(undefined);
    try {
      const { config } = await services();
      headers = consoleHeaders(config.consoleSignIn);
      const name = request.params.asset ?? '';
      const pathname = new URL(request.url).pathname;
      if ((name === '' && pathname.endsWith('/')) || name === CONSOLE_PAGE) {
        // The page's relative asset URLs resolve against /api/console, not /api/console/ or …/index.html.
        const page = name === CONSOLE_PAGE ? pathname.slice(0, -(CONSOLE_PAGE.length + 1)) : pathname.replace(/\/+$/, '');
        return { status: 308, headers: { ...headers, Location: page } };
      }
      if (name === CONSOLE_CONFIG) {
        return { status: 200, headers, jsonBody: { sign_in: signInConfig(config.consoleSignIn) } };
      }
      const file = name === '' ? CONSOLE_PAGE : name;
      const type = CONTENT_TYPES[/\.[a-z]+$/.exec(file)?.[0] ?? ''];
      if (!/^[\w-]+(\.[\w-]+)*$/.test(file) || type === undefined) {
        throw new ApiError('ENDPOINT_NOT_FOUND', `No console asset '${name}'`);
      }
      const asset = await load(file);
      if (!asset) {
        if (file === CONSOLE_PAGE) throw new ApiError('TEMPORARILY_UNAVAILABLE', 'The console is not built; run npm run build (it writes dist/console)');
        throw new ApiError('ENDPOINT_NOT_FOUND', `No console asset '${name}'`);
      }
      return respond(request, asset, { ...headers, 'Content-Type': type });
    } catch (error) {
      const apiError =
        error instanceof ApiError ? error : error instanceof ConfigError ? settingsUnavailable(error) : new ApiError('INTERNAL_ERROR', 'The console could not be served');
      return { ...errorResponse(apiError), headers: { ...headers, ...apiError.headers } };
    }
  };
}

function consoleHeaders(signIn: ConsoleSignIn | undefined): Record<string, string> {
  return {
    'Content-Security-Policy': consoleCsp(signIn),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  };
}

function respond(request: HttpRequest, asset: Asset, headers: Record<string, string>): HttpResponseInit {
  const withTag = { ...headers, ETag: asset.etag };
  if (request.headers.get('if-none-match') === asset.etag) return { status: 304, headers: withTag };
  return { status: 200, headers: withTag, body: request.method === 'HEAD' ? new Uint8Array() : new Uint8Array(asset.body) };
}

/** `config.json`: what the page needs for MSAL, or null when only pasted tokens are accepted. */
export const consoleConfigSchema = z.strictObject({
  sign_in: z.strictObject({ client_id: z.string(), authority: z.string(), scopes: z.array(z.string()) }).nullable(),
});

function signInConfig(signIn: ConsoleSignIn | undefined): z.output<typeof consoleConfigSchema>['sign_in'] {
  if (!signIn) return null;
  return { client_id: signIn.clientId, authority: signIn.authority, scopes: signIn.scopes };
}
