import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export interface IssuerOptions {
  /** Serve HTTPS with this key and certificate, as a browser sign-in needs (MSAL refuses http authorities). */
  tls?: { key: string; cert: string };
  /**
   * Entra ID's shape: the issuer is `<origin>/<tenantId>/v2.0` and every token carries `tid` (and `ver`), as
   * Entra's always do. Without it the issuer is the bare origin and tokens have no `tid`.
   */
  tenantId?: string;
}

/** What the token endpoint did with one request. */
export interface TokenRequest {
  params: Record<string, string>;
  origin: string | undefined;
  status: number;
  error?: string;
}

export interface TestIssuer {
  issuer: string;
  /** How often each endpoint was called. */
  hits: { discovery: number; jwks: number; authorize: number; token: number };
  /** The authorize requests, oldest first, and what the token endpoint was asked and answered. */
  authorizeRequests: URLSearchParams[];
  tokenRequests: TokenRequest[];
  /** Signs a token with the current key (or `key: 'foreign'` with a key the JWKS does not hold). */
  sign(claims: JWTPayload, options?: { key?: 'current' | 'foreign'; expiresIn?: number | string; audience?: string; issuer?: string }): Promise<string>;
  /** Replaces the published key with a new one (new kid). */
  rotate(): Promise<void>;
  /** Registers a single-page application: a public client that must use PKCE and one of these redirect URIs. */
  registerClient(clientId: string, redirectUris: string[]): void;
  /**
   * Who the authorize endpoint signs in, with no page shown: these claims go into the id and access tokens.
   * null: nobody is signed in at the issuer (`prompt=none` answers `login_required`).
   */
  signInAs(claims: JWTPayload | null): void;
  /** Access tokens go to this audience, whatever was asked for (a misconfigured app registration); undefined: as asked. */
  issueAccessTokensFor(audience: string | undefined): void;
  /** How long the tokens it issues from now on live (600 s by default), and whether it adds a refresh token (as Entra ID does for `offline_access`). */
  setTokens(options: { lifetimeSeconds?: number; refreshTokens?: boolean }): void;
  close(): Promise<void>;
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: Record<string, unknown>;
}

/** What a user consented to a client: held by a refresh token, and by a code with what binds it to its request. */
interface Consent {
  clientId: string;
  scopes: string[];
  user: JWTPayload;
}

interface Code extends Consent {
  redirectUri: string;
  challenge: string;
  nonce: string | undefined;
  expires: number;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** The scopes OIDC itself defines: they ask for the id token and the account, not for an API. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

class OAuthError extends Error {
  constructor(
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

/**
 * A local OIDC issuer on 127.0.0.1: discovery, JWKS, and tokens it signs itself. It also signs users in as a
 * minimal OpenID provider for a single-page application (authorization code with PKCE, the flow MSAL uses):
 * the authorize endpoint signs in the user of `signInAs` without a page and redirects back with a code
 * (`prompt=none`, a silent renewal, works only while a user is signed in); the token endpoint redeems a code
 * once, for the registered client and redirect URI, only with the PKCE verifier (S256), and a refresh token
 * for at most the consented scopes, both only from a browser origin (CORS), as Entra ID does for SPAs. The
 * access token's audience is the API the scopes name (`api://x/.default` gives `api://x`), or the issuer's own
 * userinfo when they name none; id and access tokens carry the signed-in user's claims (`roles` included).
 */
export async function startIssuer(audience: string, options: IssuerOptions = {}): Promise<TestIssuer> {
  let current = await newKey('key-1');
  const foreign = await newKey('key-foreign');
  let generation = 1;
  const hits = { discovery: 0, jwks: 0, authorize: 0, token: 0 };
  const authorizeRequests: URLSearchParams[] = [];
  const tokenRequests: TokenRequest[] = [];
  const clients = new Map<string, string[]>();
  const codes = new Map<string, Code>();
  const refreshTokens = new Map<string, Consent>();
  let user: JWTPayload | null = { sub: 'test-user', name: 'Test User', preferred_username: 'test.user@example.com' };
  let forcedAudience: string | undefined;
  let lifetime = 600;
  let withRefreshTokens = true;
  const path = options.tenantId === undefined ? '' : `/${options.tenantId}/v2.0`;
  const entraClaims = options.tenantId === undefined ? {} : { tid: options.tenantId, ver: '2.0' };
  let issuer = '';

  const signWith = (key: Key, claims: JWTPayload, aud: string, expiresIn: number | string, iss = issuer) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(iss).setAudience(aud).setIssuedAt().setExpirationTime(expiresIn).sign(key.privateKey);

  const metadata = () => ({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    end_session_endpoint: `${issuer}/logout`,
    jwks_uri: `${issuer}/keys`,
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'fragment'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: [...OIDC_SCOPES],
    token_endpoint_auth_methods_supported: ['none'],
  });

  /** GET /authorize: checks the client and redirect URI, then redirects back with a code (or an OAuth error). */
  const authorize = (query: URLSearchParams, response: ServerResponse) => {
    hits.authorize += 1;
    authorizeRequests.push(query);
    const clientId = query.get('client_id') ?? '';
    const redirectUri = query.get('redirect_uri') ?? '';
    // Without a registered client and redirect URI there is nowhere safe to send an answer: a page says why.
    if (!clients.get(clientId)?.includes(redirectUri)) {
      response.writeHead(400, { 'content-type': 'text/plain' }).end(`redirect_uri '${redirectUri}' is not registered for client '${clientId}'`);
      return;
    }
    const back = (params: Record<string, string>) => {
      const state = query.get('state');
      const answer = new URLSearchParams({ ...params, ...(state === null ? {} : { state }) }).toString();
      const mode = query.get('response_mode') ?? 'query';
      response.writeHead(302, { location: `${redirectUri}${mode === 'fragment' ? '#' : redirectUri.includes('?') ? '&' : '?'}${answer}` }).end();
    };
    const scopes = (query.get('scope') ?? '').split(' ').filter(Boolean);
    const mode = query.get('response_mode');
    if (query.get('response_type') !== 'code') return back({ error: 'unsupported_response_type', error_description: 'only response_type=code' });
    if (mode !== null && mode !== 'query' && mode !== 'fragment') return back({ error: 'invalid_request', error_description: `response_mode '${mode}' is not supported` });
    if (!scopes.includes('openid')) return back({ error: 'invalid_scope', error_description: "the scope must include 'openid'" });
    const challenge = query.get('code_challenge');
    if (!challenge || query.get('code_challenge_method') !== 'S256') {
      return back({ error: 'invalid_request', error_description: 'a single-page application must send a PKCE code_challenge with code_challenge_method=S256' });
    }
    const prompt = query.get('prompt');
    // No page to show: a user is signed in at once, or, for prompt=none (silent renewal), only if one is.
    if (user === null) return back({ error: prompt === 'none' ? 'login_required' : 'access_denied', error_description: 'nobody is signed in at the test issuer' });
    const code = randomBytes(32).toString('base64url');
    codes.set(code, { clientId, redirectUri, challenge, nonce: query.get('nonce') ?? undefined, scopes, user, expires: Date.now() + 120_000 });
    back({ code });
  };

  /** The API the scopes name: `api://x/.default` and `api://x/Read` name `api://x`; at most one API per request. */
  const resourceOf = (scopes: string[]): string => {
    const resources = new Set(scopes.filter((scope) => !OIDC_SCOPES.has(scope) && scope.includes('/')).map((scope) => scope.slice(0, scope.lastIndexOf('/'))));
    if (resources.size > 1) throw new OAuthError('invalid_scope', `scopes for more than one resource: ${[...resources].join(', ')}`);
    return [...resources][0] ?? `${issuer}/userinfo`;
  };

  /** The code's consent: once, for its client and redirect URI, with the PKCE verifier of its challenge. */
  const redeemCode = (params: Record<string, string>): Code => {
    const code = codes.get(params.code ?? '');
    codes.delete(params.code ?? '');
    if (!code || code.expires < Date.now()) throw new OAuthError('invalid_grant', 'the code is unknown, expired or already redeemed');
    if (params.client_id !== code.clientId) throw new OAuthError('invalid_grant', 'the code was issued to another client');
    if (params.redirect_uri !== code.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri differs from the authorize request');
    if (!params.code_verifier || s256(params.code_verifier) !== code.challenge) throw new OAuthError('invalid_grant', 'the PKCE code_verifier does not match the code_challenge');
    return code;
  };

  /** The refresh token's consent, for the scopes asked now (at most those consented). */
  const redeemRefreshToken = (params: Record<string, string>): Consent => {
    const consent = refreshTokens.get(params.refresh_token ?? '');
    if (!consent || params.client_id !== consent.clientId) throw new OAuthError('invalid_grant', 'the refresh token is unknown or was issued to another client');
    const asked = (params.scope ?? '').split(' ').filter(Boolean);
    const extra = asked.filter((scope) => !consent.scopes.includes(scope));
    if (extra.length > 0) throw new OAuthError('invalid_grant', `scopes not consented: ${extra.join(' ')}`);
    return { ...consent, scopes: asked.length > 0 ? asked : consent.scopes };
  };

  /** POST /token: an authorization code (with PKCE) or a refresh token, from a browser (an Origin header), for tokens. */
  const token = async (params: Record<string, string>, origin: string | undefined) => {
    if (origin === undefined) throw new OAuthError('invalid_request', 'tokens for a single-page application are redeemed only by cross-origin requests');
    let consent: Consent;
    let nonce: string | undefined;
    if (params.grant_type === 'authorization_code') {
      const code = redeemCode(params);
      consent = code;
      nonce = code.nonce;
    } else if (params.grant_type === 'refresh_token') {
      consent = redeemRefreshToken(params);
    } else {
      throw new OAuthError('unsupported_grant_type', `grant_type '${params.grant_type ?? ''}' is not supported`);
    }
    const resource = resourceOf(consent.scopes);
    const apiScopes = consent.scopes.filter((scope) => scope.startsWith(`${resource}/`)).map((scope) => scope.slice(resource.length + 1));
    const { sub, ...claims } = consent.user;
    const profile = { ...entraClaims, ...claims, sub: sub ?? 'test-user' };
    const idToken = await signWith(current, { ...profile, ...(nonce === undefined ? {} : { nonce }) }, consent.clientId, `${lifetime}s`);
    const accessToken = await signWith(current, { ...profile, azp: consent.clientId, scp: apiScopes.join(' ') }, forcedAudience ?? resource, `${lifetime}s`);
    const refreshToken = withRefreshTokens && consent.scopes.includes('offline_access') ? randomBytes(32).toString('base64url') : undefined;
    if (refreshToken) refreshTokens.set(refreshToken, { clientId: consent.clientId, scopes: consent.scopes, user: consent.user });
    return {
      token_type: 'Bearer',
      scope: consent.scopes.join(' '),
      expires_in: lifetime,
      ext_expires_in: lifetime,
      id_token: idToken,
      access_token: accessToken,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    };
  };

  const readBody = async (request: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://issuer');
    const route = url.pathname.startsWith(`${path}/`) ? url.pathname.slice(path.length) : '';
    const origin = request.headers.origin;
    // A browser reads discovery, keys and tokens cross-origin (MSAL uses fetch).
    const cors = { 'access-control-allow-origin': origin ?? '*', vary: 'Origin' };
    const json = (status: number, body: unknown) => response.writeHead(status, { ...cors, 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    if (request.method === 'OPTIONS') {
      response
        .writeHead(204, {
          ...cors,
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': request.headers['access-control-request-headers'] ?? '',
          'access-control-max-age': '600',
        })
        .end();
    } else if (route === '/.well-known/openid-configuration') {
      hits.discovery += 1;
      json(200, metadata());
    } else if (route === '/keys') {
      hits.jwks += 1;
      json(200, { keys: [current.jwk] });
    } else if (route === '/authorize' && request.method === 'GET') {
      authorize(url.searchParams, response);
    } else if (route === '/token' && request.method === 'POST') {
      hits.token += 1;
      const params = Object.fromEntries(new URLSearchParams(await readBody(request)));
      try {
        json(200, await token(params, origin));
        tokenRequests.push({ params, origin, status: 200 });
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        tokenRequests.push({ params, origin, status: 400, error: error.error });
        json(400, { error: error.error, error_description: error.message });
      }
    } else if (route === '/logout' && request.method === 'GET') {
      const back = url.searchParams.get('post_logout_redirect_uri');
      if (back && [...clients.values()].some((uris) => uris.includes(back))) response.writeHead(302, { location: back }).end();
      else response.writeHead(200, { 'content-type': 'text/plain' }).end('signed out');
    } else {
      response.writeHead(404).end();
    }
  };
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  };
  const server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  const test: TestIssuer = {
    issuer,
    hits,
    authorizeRequests,
    tokenRequests,
    sign: async (claims, signOptions = {}) =>
      signWith(signOptions.key === 'foreign' ? foreign : current, claims, signOptions.audience ?? audience, signOptions.expiresIn ?? '10m', signOptions.issuer ?? issuer),
    rotate: async () => {
      generation += 1;
      current = await newKey(`key-${generation}`);
    },
    registerClient: (clientId, redirectUris) => {
      clients.set(clientId, redirectUris);
    },
    signInAs: (claims) => {
      user = claims;
    },
    issueAccessTokensFor: (forced) => {
      forcedAudience = forced;
    },
    setTokens: (tokens) => {
      lifetime = tokens.lifetimeSeconds ?? lifetime;
      withRefreshTokens = tokens.refreshTokens ?? withRefreshTokens;
    },
    close: () =>
      new Promise((resolve) => {
        // A browser keeps its connections open; they would hold close() forever.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  after(() => test.close());
  return test;
}

/** A token with `alg: none` and no signature. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** The token with its payload swapped for `claims`, the signature kept. */
export function tamper(token: string, claims: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}
