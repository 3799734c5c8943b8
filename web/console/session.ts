import type { PublicClientApplication } from '@azure/msal-browser';
import { ApiFailure, callApi, knownWebhooks } from './api.js';

/** Who is signed in, and how to get the bearer token for the next call. */
export interface Session {
  kind: 'token' | 'entra';
  label: string;
  token(): Promise<string>;
}

/** The sign-in configuration the app serves (public): present only where Entra ID sign-in is configured. */
export interface SignInConfig {
  client_id: string;
  authority: string;
  scopes: string[];
}

/** The code of the failure a session's token() throws when the sign-in can no longer be renewed. */
export const SIGN_IN_EXPIRED = 'SIGN_IN_EXPIRED';

// Pasted tokens live in sessionStorage only: they end with the tab and never persist on disk.
const TOKEN_KEY = 'registry-webhooks.console.token';

export async function loadSignInConfig(): Promise<SignInConfig | null> {
  const response = await fetch('console/config.json', { cache: 'no-store' });
  if (!response.ok) return null;
  const body = (await response.json()) as { sign_in?: SignInConfig | null };
  return body.sign_in ?? null;
}

const tokenSession = (token: string): Session => ({ kind: 'token', label: 'pasted token', token: () => Promise.resolve(token) });

export function storedTokenSession(): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? tokenSession(token) : null;
}

/**
 * Checks a pasted token with a real call (a one-item list) before keeping it: a token the API refuses (401) is
 * never stored. A 403 means the token is good but its role may not list every webhook; the views then show
 * what the API allows that role.
 */
export async function signInWithToken(raw: string): Promise<Session> {
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  try {
    await callApi('GET', 'list', { query: { max_results: 1 }, token });
  } catch (failure) {
    if (!(failure instanceof ApiFailure && failure.status === 403)) throw failure;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  return tokenSession(token);
}

/**
 * MSAL renews a token it has no refresh token for in a hidden frame: the authority sends that frame back to
 * this page with the answer (`#code=…&state=…`), and since MSAL 5 the page itself must hand it to the window
 * that asked (MSAL's redirect bridge) or the renewal times out. Answers true when this page is such a frame,
 * after passing the answer on; the page then shows nothing.
 */
export async function relayFrameResponse(): Promise<boolean> {
  if (window.parent === window) return false;
  const answer = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));
  if (!answer.has('state') || !(answer.has('code') || answer.has('error'))) return false;
  const { broadcastResponseToMainFrame } = await import('@azure/msal-browser/redirect-bridge');
  await broadcastResponseToMainFrame();
  return true;
}

let msal: PublicClientApplication | undefined;
let msalScopes: string[] = [];

/** MSAL talks to the configured authority; a non-Entra issuer is spoken to as plain OIDC. */
export async function startEntra(config: SignInConfig): Promise<Session | null> {
  const { PublicClientApplication } = await import('@azure/msal-browser');
  const authority = new URL(config.authority);
  const entra = /(^|\.)login\.microsoftonline\.com$|\.ciamlogin\.com$/.test(authority.hostname);
  msal = new PublicClientApplication({
    auth: {
      clientId: config.client_id,
      authority: config.authority,
      knownAuthorities: [authority.host],
      redirectUri: `${location.origin}${location.pathname}`,
      postLogoutRedirectUri: `${location.origin}${location.pathname}`,
    },
    cache: { cacheLocation: 'sessionStorage' },
    system: entra ? {} : { protocolMode: 'OIDC' },
  });
  msalScopes = config.scopes;
  await msal.initialize();
  const result = await msal.handleRedirectPromise();
  const account = result?.account ?? msal.getAllAccounts()[0];
  if (!account) return null;
  msal.setActiveAccount(account);
  const client = msal;
  return {
    kind: 'entra',
    label: account.username || account.name || 'Entra ID',
    token: async () => {
      try {
        return (await client.acquireTokenSilent({ scopes: msalScopes, account })).accessToken;
      } catch (error) {
        // No cached, refreshable or silently renewable token (the Entra ID session ended, say): sign in again.
        throw new ApiFailure(401, SIGN_IN_EXPIRED, `Entra ID did not renew your sign-in (${error instanceof Error ? error.message : String(error)})`);
      }
    },
  };
}

export async function signInWithEntra(): Promise<void> {
  if (!msal) throw new Error('Entra ID sign-in is not configured');
  // The account picker, not a silent sign-in as whoever last used this browser (a shared machine after a sign-out).
  await msal.loginRedirect({ scopes: msalScopes, prompt: 'select_account' });
}

/** Forgets the pasted token, the webhooks read with it, and MSAL's cached accounts and tokens in this tab. */
export async function signOut(): Promise<void> {
  sessionStorage.removeItem(TOKEN_KEY);
  // What one user listed is not for the next one to see.
  knownWebhooks.clear();
  if (msal) await msal.clearCache();
}
