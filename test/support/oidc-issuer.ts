import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export interface TestIssuer {
  issuer: string;
  /** How often each document was fetched. */
  hits: { discovery: number; jwks: number };
  /** Signs a token with the current key (or `key: 'foreign'` with a key the JWKS does not hold). */
  sign(claims: JWTPayload, options?: { key?: 'current' | 'foreign'; expiresIn?: number | string; audience?: string; issuer?: string }): Promise<string>;
  /** Replaces the published key with a new one (new kid). */
  rotate(): Promise<void>;
  close(): Promise<void>;
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: Record<string, unknown>;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** A local OIDC issuer on 127.0.0.1: discovery, JWKS, and tokens it signs itself. */
export async function startIssuer(audience: string): Promise<TestIssuer> {
  let current = await newKey('key-1');
  const foreign = await newKey('key-foreign');
  let generation = 1;
  const hits = { discovery: 0, jwks: 0 };
  let issuer = '';
  const server: Server = createServer((request, response) => {
    if (request.url === '/.well-known/openid-configuration') {
      hits.discovery += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
    } else if (request.url === '/keys') {
      hits.jwks += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [current.jwk] }));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const test: TestIssuer = {
    issuer,
    hits,
    sign: async (claims, options = {}) => {
      const key = options.key === 'foreign' ? foreign : current;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: key.kid })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? audience)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '10m')
        .sign(key.privateKey);
    },
    rotate: async () => {
      generation += 1;
      current = await newKey(`key-${generation}`);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
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
