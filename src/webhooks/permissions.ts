import type { Role } from '../config.js';
import { ApiError } from '../errors.js';
import type { Principal } from '../auth/principal.js';

/** Fails with PERMISSION_DENIED unless the principal holds one of the roles. */
export function requireRole(principal: Principal, roles: readonly Role[], action: string): void {
  if (!principal.roles.some((role) => roles.includes(role))) {
    throw new ApiError('PERMISSION_DENIED', `Role${principal.roles.length === 1 ? '' : 's'} '${principal.roles.join("', '")}' may not ${action}`);
  }
}

/**
 * Admins manage every webhook; managers only webhooks that have a `model_name`. Registry-wide webhooks, and
 * anything that spans all models, need an admin.
 */
export function requireScopeAccess(principal: Principal, modelName: string | undefined, action: string): void {
  requireRole(principal, ['admin', 'manager'], action);
  if (!principal.roles.includes('admin') && modelName === undefined) {
    throw new ApiError('PERMISSION_DENIED', `Only an admin may ${action} without a model_name (registry-wide)`);
  }
}
