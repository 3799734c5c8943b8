import { lookup } from 'node:dns/promises';
import { ApiError, invalidParameter } from '../shared/errors.js';
import { isIpLiteral, whyBlocked } from './blocked-addresses.js';

export interface TargetPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
}

/** Resolves a host name to every address it has. Injected so tests can play DNS (rebinding included). */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) => (await lookup(hostname, { all: true, order: 'verbatim' })).map((entry) => entry.address);

/** A target that the policy refuses: never retried, and at create time a 400. */
export class BlockedTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockedTargetError';
  }
}

const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

/** Checks one address against the policy (throws BlockedTargetError); what a name resolved to is never told. */
export function assertAddressAllowed(address: string, host: string, policy: TargetPolicy): void {
  if (policy.allowPrivate) return;
  const reason = whyBlocked(address);
  if (reason === undefined) return;
  throw new BlockedTargetError(
    isIpLiteral(host)
      ? `${host} is ${reason}; only public addresses may receive webhooks`
      : `${host} resolves to an address that is not public; only public addresses may receive webhooks`,
  );
}

/** Parses and checks a target URL's form: scheme, no credentials. Throws INVALID_PARAMETER_VALUE naming the field. */
export function parseTargetUrl(raw: string, field: string, policy: TargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidParameter(`Invalid parameter '${field}': not an absolute URL`);
  }
  const schemes = policy.allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    throw invalidParameter(`Invalid parameter '${field}': must be an https:// URL${policy.allowHttp ? ' or http:// URL' : ''}`);
  }
  if (url.username || url.password) {
    throw invalidParameter(`Invalid parameter '${field}': must not carry credentials; use http_url_spec.authorization`);
  }
  if (!url.hostname) throw invalidParameter(`Invalid parameter '${field}': has no host`);
  return url;
}

/**
 * Resolves the target's host and refuses blocked addresses. A name that does not resolve now is accepted: it
 * is checked again, on the address connected to, at every delivery.
 */
export async function assertResolvesToAllowed(url: URL, field: string, policy: TargetPolicy, resolve: Resolver): Promise<void> {
  if (policy.allowPrivate) return;
  const host = hostOf(url);
  let addresses: string[];
  if (isIpLiteral(host)) {
    addresses = [host];
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      return;
    }
  }
  for (const address of addresses) {
    try {
      assertAddressAllowed(address, host, policy);
    } catch (error) {
      if (error instanceof BlockedTargetError) throw invalidParameter(`Invalid parameter '${field}': ${error.message}`);
      throw error;
    }
  }
}

/** The form and address checks together, as create and update run them. */
export async function checkTargetUrl(raw: string, field: string, policy: TargetPolicy, resolve: Resolver): Promise<URL> {
  const url = parseTargetUrl(raw, field, policy);
  await assertResolvesToAllowed(url, field, policy, resolve);
  return url;
}

/** A workspace URL is an origin; a trailing slash is dropped, any other path refused. */
export async function checkWorkspaceUrl(raw: string, field: string, policy: TargetPolicy, resolve: Resolver): Promise<string> {
  const url = await checkTargetUrl(raw, field, policy, resolve);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw invalidParameter(`Invalid parameter '${field}': must be a workspace origin such as https://adb-1234567890123456.7.azuredatabricks.net`);
  }
  return url.origin;
}

export const targetUnreachable = (field: string, reason: string): ApiError =>
  new ApiError('TARGET_UNREACHABLE', `The test call to '${field}' failed: ${reason}`);
