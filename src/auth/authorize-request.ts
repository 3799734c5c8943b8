import { ApiError } from '../shared/errors.js';
import type { Authenticator, Principal } from './principal.js';

/** Reads `Authorization: Bearer <token>` and resolves the principal, or fails with 401/403. */
export async function authorizeRequest(header: string | null, authenticator: Authenticator): Promise<Principal> {
  const match = header ? /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header) : null;
  const token = match?.[1];
  if (!token) throw new ApiError('UNAUTHENTICATED', 'Missing credentials: send Authorization: Bearer <token>', { 'WWW-Authenticate': 'Bearer' });
  const result = await authenticator.authenticate(token);
  switch (result.kind) {
    case 'principal':
      return result.principal;
    case 'no-role':
      throw new ApiError('PERMISSION_DENIED', `Principal ${result.id} has no role for this service (Webhooks.Admin, Webhooks.Manage or Events.Publish)`);
    case 'unavailable':
      throw new ApiError('TEMPORARILY_UNAVAILABLE', `The bearer token cannot be verified right now: ${result.reason}`, { 'Retry-After': '5' });
    case 'invalid':
      throw new ApiError('UNAUTHENTICATED', `Invalid credentials: ${result.reason}`, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    case 'unknown':
      throw new ApiError('UNAUTHENTICATED', 'Invalid credentials: the bearer token is not valid', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
}
